//! `--format nfd` and `--format prometheus`: the core's figures ([`HostSummary`],
//! [`DmaFacts`]) written for node-feature-discovery's local source and for Prometheus's
//! textfile collector. Only the writing is here; every number comes from the core.
//!
//! NFD's local source reads `/etc/kubernetes/node-feature-discovery/features.d/*`: one
//! feature a line, `NAME=VALUE`, `#` starting a comment. The names carry NFD's own
//! namespace (`feature.node.kubernetes.io/`, allowed without configuration), then
//! `vfio-iommu-info.`; names and values are valid Kubernetes label parts (at most 63
//! characters of `[A-Za-z0-9._-]`, alphanumeric at both ends).
//!
//! Prometheus's text exposition format (0.0.4): for each metric family a `# HELP` and a
//! `# TYPE` line, then its samples `NAME{LABEL="VALUE",...} VALUE`, each family's lines
//! together, every line ending in a newline; label values escape `\`, `"` and newlines.
//! Every metric is a gauge named `vfio_iommu_info_*`. Addresses are label values in hex
//! (a sample's value is a double: it would round them), sizes are values.

use std::fmt::Write;

use vfio_iommu_info::facts::{DmaFacts, MappingLimit};
use vfio_iommu_info::HostSummary;

/// The prefix of every NFD feature name.
pub const NFD_PREFIX: &str = "feature.node.kubernetes.io/vfio-iommu-info.";

/// `list --format nfd`: IOMMU present, groups, viable groups, the address width and the
/// mappings a new container accepts when they are known.
pub fn nfd(host: &HostSummary) -> String {
    let mut out = format!(
        "# vfio-iommu-info {}: node features for node-feature-discovery's local source (features.d)\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut feature = |name: &str, value: String| {
        let _ = writeln!(out, "{NFD_PREFIX}{name}={value}");
    };
    feature("iommu", host.iommu_present().to_string());
    feature("groups", host.groups.len().to_string());
    feature("groups-viable", host.viable_groups().to_string());
    if let Some(bits) = host.address_width() {
        feature("address-width", bits.to_string());
    }
    if let Some(n) = host.dma_avail {
        feature("dma-avail", n.to_string());
    }
    out
}

/// A Prometheus text exposition, written family by family.
pub struct Exposition(String);

impl Exposition {
    pub fn new() -> Exposition {
        Exposition(String::new())
    }

    /// Starts the gauge `vfio_iommu_info_{name}`: its HELP and TYPE lines. Its samples
    /// follow at once ([`Exposition::sample`]).
    pub fn gauge(&mut self, name: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP vfio_iommu_info_{name} {help}");
        let _ = writeln!(self.0, "# TYPE vfio_iommu_info_{name} gauge");
    }

    /// A sample of the gauge `vfio_iommu_info_{name}`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.0, "vfio_iommu_info_{name}");
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// A label value as the exposition format writes it.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// `list --format prometheus`: the host, then each group (devices, reserved regions,
/// viability, address width when known).
pub fn list_prometheus(host: &HostSummary) -> String {
    let mut e = Exposition::new();
    e.gauge(
        "iommu_present",
        "1 when the host has IOMMU groups (an IOMMU serves its devices), else 0.",
    );
    e.sample("iommu_present", &[], flag(host.iommu_present()));
    e.gauge("groups", "IOMMU groups on the host.");
    e.sample("groups", &[], host.groups.len());
    e.gauge(
        "groups_viable",
        "IOMMU groups VFIO can use: every device on a VFIO driver or on none.",
    );
    e.sample("groups_viable", &[], host.viable_groups());
    if let Some(n) = host.dma_avail {
        e.gauge(
            "dma_entry_limit",
            "Mappings a new type1 container accepts (vfio_iommu_type1 dma_entry_limit: its DMA_AVAIL).",
        );
        e.sample("dma_entry_limit", &[], n);
    }
    if host.groups.is_empty() {
        return e.finish();
    }
    let numbers: Vec<String> = host.groups.iter().map(|g| g.group.to_string()).collect();
    let each = |e: &mut Exposition, name: &str, value: &dyn Fn(usize) -> Option<String>| {
        for (i, n) in numbers.iter().enumerate() {
            if let Some(v) = value(i) {
                e.sample(name, &[("group", n)], v);
            }
        }
    };
    e.gauge(
        "group_viable",
        "1 when VFIO can use the IOMMU group, else 0.",
    );
    each(&mut e, "group_viable", &|i| {
        Some(flag(host.groups[i].viable).to_string())
    });
    e.gauge("group_devices", "Devices in the IOMMU group.");
    each(&mut e, "group_devices", &|i| {
        Some(host.groups[i].devices.to_string())
    });
    e.gauge(
        "group_reserved_regions",
        "Reserved regions of the IOMMU group (holes in its DMA space).",
    );
    each(&mut e, "group_reserved_regions", &|i| {
        Some(host.groups[i].reserved_regions.to_string())
    });
    if host.groups.iter().any(|g| g.address_width.is_some()) {
        e.gauge(
            "group_address_width_bits",
            "Address width of a DMA domain for the group's devices (VT-d registers in sysfs).",
        );
        each(&mut e, "group_address_width_bits", &|i| {
            host.groups[i].address_width.map(|b| b.to_string())
        });
    }
    e.finish()
}

/// `query --format prometheus`: the container's mappings left and its usable IOVA
/// ranges, labelled with the targets (`container`) and the backend.
pub fn query_prometheus(container: &str, facts: &DmaFacts) -> String {
    let backend = facts.backend.name();
    let labels = [("container", container), ("backend", backend)];
    let mut e = Exposition::new();
    if let Some(limit) = &facts.mapping_limit {
        match limit.value {
            MappingLimit::Remaining(n) => {
                e.gauge(
                    "dma_avail",
                    "Mappings the container still accepts (type1 DMA_AVAIL).",
                );
                e.sample("dma_avail", &labels, n);
            }
            MappingLimit::Unlimited => {
                e.gauge(
                    "dma_unlimited",
                    "1 when the backend counts no mappings (iommufd): locked memory limits them.",
                );
                e.sample("dma_unlimited", &labels, 1);
            }
        }
    }
    if let Some(ranges) = &facts.iova_ranges {
        e.gauge("iova_ranges", "Usable IOVA ranges of the container.");
        e.sample("iova_ranges", &labels, ranges.value.len());
        e.gauge(
            "iova_range_bytes",
            "Bytes of each usable IOVA range; start and end (inclusive) label it in hex, exactly.",
        );
        for r in &ranges.value {
            let (start, end) = (format!("{:#x}", r.start), format!("{:#x}", r.end));
            let with = [
                labels[0],
                labels[1],
                ("start", start.as_str()),
                ("end", end.as_str()),
            ];
            e.sample("iova_range_bytes", &with, r.size());
        }
    }
    e.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vfio_iommu_info::GroupSummary;

    fn host() -> HostSummary {
        let g = |group, viable, devices, regions, width| GroupSummary {
            group,
            viable,
            devices,
            reserved_regions: regions,
            iommu: None,
            address_width: width,
            error: None,
        };
        HostSummary {
            groups: vec![g(0, false, 2, 2, None), g(2, true, 1, 2, Some(39))],
            dma_avail: Some(65535),
        }
    }

    #[test]
    fn nfd_lines_are_label_names_and_values() {
        let text = nfd(&host());
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "feature.node.kubernetes.io/vfio-iommu-info.iommu=true",
                "feature.node.kubernetes.io/vfio-iommu-info.groups=2",
                "feature.node.kubernetes.io/vfio-iommu-info.groups-viable=1",
                "feature.node.kubernetes.io/vfio-iommu-info.address-width=39",
                "feature.node.kubernetes.io/vfio-iommu-info.dma-avail=65535",
            ]
        );
        let empty = nfd(&HostSummary {
            groups: vec![],
            dma_avail: None,
        });
        assert!(empty.contains("vfio-iommu-info.iommu=false\n"), "{empty}");
        assert!(!empty.contains("address-width") && !empty.contains("dma-avail"));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut e = Exposition::new();
        e.gauge("x", "a \\ and a\nnewline");
        e.sample("x", &[("container", "a\"b\\c\nd")], 1);
        assert_eq!(
            e.finish(),
            "# HELP vfio_iommu_info_x a \\\\ and a\\nnewline\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_x{container=\"a\\\"b\\\\c\\nd\"} 1\n"
        );
    }

    /// Checks `text` by the rules of Prometheus's text exposition format 0.0.4 (its
    /// `exposition_formats.md`), strictly: each family a `# HELP` then a `# TYPE gauge`
    /// line, once, before its samples, which follow together; names and label names of
    /// the allowed characters (ours all `vfio_iommu_info_*`); label values with only the
    /// `\\`, `\"` and `\n` escapes; values Go's ParseFloat reads; no series twice;
    /// every line ending in a newline. Returns the samples: (series, value).
    pub(crate) fn check_exposition(text: &str) -> Vec<(String, f64)> {
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        let name_ok = |n: &str| {
            n.starts_with("vfio_iommu_info_")
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        };
        let label_name_ok = |n: &str| {
            !n.is_empty()
                && !n.starts_with("__")
                && !n.as_bytes()[0].is_ascii_digit()
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let mut families: Vec<String> = Vec::new();
        let mut current: Option<(String, bool)> = None; // (family, TYPE seen)
        let mut series = std::collections::HashSet::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                assert!(name_ok(name), "{line}");
                assert!(!help.is_empty(), "{line}");
                let mut chars = help.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        assert!(matches!(chars.next(), Some('\\' | 'n')), "{line}");
                    }
                }
                assert!(!families.contains(&name.to_owned()), "{name} twice");
                families.push(name.to_owned());
                current = Some((name.to_owned(), false));
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert_eq!(kind, "gauge", "{line}");
                let c = current.as_mut().expect("TYPE after HELP");
                assert!(c.0 == name && !c.1, "{line}");
                c.1 = true;
            } else {
                assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
                let (series_text, value) = line.rsplit_once(' ').expect("NAME VALUE");
                let name = series_text.split('{').next().unwrap();
                let c = current.as_ref().expect("a sample after its HELP and TYPE");
                assert!(c.0 == name && c.1, "{line}: not in its family's block");
                if let Some(labels) = series_text.strip_prefix(name).filter(|l| !l.is_empty()) {
                    let inner = labels
                        .strip_prefix('{')
                        .and_then(|l| l.strip_suffix('}'))
                        .expect("{labels}");
                    // label="value" pairs, comma separated, values escaped.
                    let mut rest = inner;
                    while !rest.is_empty() {
                        let (label, after) = rest.split_once("=\"").expect("label=\"");
                        assert!(label_name_ok(label), "{line}: label {label:?}");
                        let mut chars = after.char_indices();
                        let end = loop {
                            match chars.next().expect("a closing quote") {
                                (_, '\\') => {
                                    let (_, e) = chars.next().unwrap();
                                    assert!(matches!(e, '\\' | '"' | 'n'), "{line}");
                                }
                                (i, '"') => break i,
                                (_, c) => assert!(c != '\n', "{line}"),
                            }
                        };
                        rest = &after[end + 1..];
                        rest = rest.strip_prefix(',').unwrap_or(rest);
                    }
                }
                let v: f64 = value.parse().unwrap_or_else(|_| panic!("{line}: value"));
                assert!(
                    series.insert(series_text.to_owned()),
                    "{line}: series twice"
                );
                samples.push((series_text.to_owned(), v));
            }
        }
        samples
    }

    /// Checks an NFD feature file: comments, and `NAME=VALUE` lines whose name is
    /// `feature.node.kubernetes.io/` then a label name and whose value is a label value
    /// (at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends).
    pub(crate) fn check_nfd(text: &str) -> Vec<(String, String)> {
        let label_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && s.as_bytes()[0].is_ascii_alphanumeric()
                && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
        };
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.split_once('=').expect("NAME=VALUE");
            let local = name
                .strip_prefix("feature.node.kubernetes.io/")
                .expect("NFD's namespace");
            assert!(label_ok(local), "{line}: name");
            assert!(label_ok(value), "{line}: value");
            out.push((local.to_owned(), value.to_owned()));
        }
        out
    }

    #[test]
    fn every_exposition_follows_the_format() {
        let samples = check_exposition(&list_prometheus(&host()));
        assert!(samples.contains(&(
            "vfio_iommu_info_group_reserved_regions{group=\"2\"}".to_owned(),
            2.0
        )));
        check_exposition(&list_prometheus(&HostSummary {
            groups: vec![],
            dma_avail: None,
        }));
        // Every capture's facts (type1, and sPAPR TCE's).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let mut checked = 0;
        for scenario in std::fs::read_dir(&dir).unwrap() {
            let exact = scenario.unwrap().path().join("group-2/info-exact.bin");
            let Ok(bytes) = std::fs::read(&exact) else {
                continue;
            };
            let Ok(info) = vfio_iommu_info::decode(&bytes) else {
                continue;
            };
            let facts = DmaFacts::from_type1(&info, vfio_iommu_info::facts::Backend::Type1);
            let text = query_prometheus("0000:00:03.0,4", &facts);
            let samples = check_exposition(&text);
            let ranges = info.iova_ranges.present().map_or(0, |r| r.len());
            assert!(
                samples
                    .iter()
                    .any(|(s, v)| s.starts_with("vfio_iommu_info_iova_ranges{")
                        && *v == ranges as f64),
                "{text}"
            );
            checked += 1;
        }
        assert!(checked >= 5, "{checked} captures");
        let spapr =
            std::fs::read(dir.join("spapr-tce/synthesized-linux-6.12-pseries/info-exact.bin"))
                .unwrap();
        let info = vfio_iommu_info::decode_spapr_tce_with_order(
            &spapr,
            vfio_iommu_info::ByteOrder::Little,
        )
        .unwrap();
        check_exposition(&query_prometheus("1", &DmaFacts::from_spapr_tce(&info)));
    }

    #[test]
    fn a_range_to_the_top_keeps_exact_addresses_in_its_labels() {
        let k =
            vfio_iommu_info::encode::KernelState::padded(
                0x1000,
                vec![
                    vfio_iommu_info::encode::CapSpec::DmaAvail(65535),
                    vfio_iommu_info::encode::CapSpec::IovaRange(vec![
                        vfio_iommu_info::IovaRange::new(0x100_0000_0000, u64::MAX).unwrap(),
                    ]),
                ],
            );
        let info = vfio_iommu_info::decode(&k.encode()).unwrap();
        let facts = DmaFacts::from_type1(&info, vfio_iommu_info::facts::Backend::Type1);
        let text = query_prometheus("0000:00:03.0", &facts);
        let samples = check_exposition(&text);
        assert!(
            text.contains(
                "vfio_iommu_info_dma_avail{container=\"0000:00:03.0\",backend=\"type1\"} 65535\n"
            ),
            "{text}"
        );
        let (series, bytes) = samples
            .iter()
            .find(|(s, _)| s.starts_with("vfio_iommu_info_iova_range_bytes"))
            .unwrap();
        assert!(
            series.ends_with(",start=\"0x10000000000\",end=\"0xffffffffffffffff\"}"),
            "{series}"
        );
        assert_eq!(*bytes, (u64::MAX - 0x100_0000_0000) as f64 + 1.0);
    }

    #[test]
    fn the_checkers_refuse_what_prometheus_and_nfd_refuse() {
        let refused = |text: &'static str, check: fn(&str)| {
            let r = std::panic::catch_unwind(|| check(text));
            assert!(r.is_err(), "accepted {text:?}");
        };
        let expo = |t: &str| drop(check_exposition(t));
        let help = "# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\n";
        assert_eq!(
            check_exposition(&format!("{help}vfio_iommu_info_x 1\n")).len(),
            1
        );
        refused("vfio_iommu_info_x 1\n", expo); // no HELP, no TYPE
        refused("# HELP vfio_iommu_info_x x\nvfio_iommu_info_x 1\n", expo); // no TYPE
        refused(
            "# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_x 1",
            expo,
        ); // no final newline
        refused("# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_x{a=\"b\"c\"} 1\n", expo);
        refused("# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_x{a=\"\\t\"} 1\n", expo);
        refused(
            "# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_x one\n",
            expo,
        );
        refused("# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_x 1\nvfio_iommu_info_x 2\n", expo);
        refused(
            "# HELP vfio_iommu_info_x x\n# TYPE vfio_iommu_info_x gauge\nvfio_iommu_info_y 1\n",
            expo,
        );
        let nfd = |t: &str| drop(check_nfd(t));
        refused("vfio-iommu-info.iommu=true\n", nfd); // no namespace
        refused("feature.node.kubernetes.io/vfio iommu=true\n", nfd);
        refused("feature.node.kubernetes.io/vfio-iommu-info.x=-1\n", nfd);
    }

    #[test]
    fn nfd_files_follow_the_label_rules() {
        let features = check_nfd(&nfd(&host()));
        assert_eq!(features.len(), 5);
        check_nfd(&nfd(&HostSummary {
            groups: vec![],
            dma_avail: None,
        }));
    }

    #[test]
    fn list_metrics_per_group() {
        let text = list_prometheus(&host());
        assert!(text.contains("vfio_iommu_info_groups 2\n"), "{text}");
        assert!(
            text.contains("vfio_iommu_info_group_devices{group=\"0\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("vfio_iommu_info_group_address_width_bits{group=\"2\"} 39\n"),
            "{text}"
        );
        assert!(
            !text.contains("group_address_width_bits{group=\"0\"}"),
            "{text}"
        );
    }
}
