//! `vfio-iommu-info`: where a VFIO device may DMA, and why not elsewhere.

mod backend;
mod budget;
mod device;
mod explain;
mod export;
mod generate;
mod guest;
mod inspect;
mod list;
mod output;
mod plan;
mod render;
mod snapshot;
#[cfg(test)]
mod testing;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde_json::Value;
use vfio_iommu_info::json::info_to_json;
use vfio_iommu_info::query::capture_type1_with;
use vfio_iommu_info::{
    sys::kernel::SystemKernel, ByteOrder, Container, HostPaths, ReservedRegion, Target,
};

/// Exit status: the system or the kernel refused, or `explain` found a failing check.
const EXIT_FAILURE: u8 = 1;
/// Exit status: a bad command line (clap's own status for usage errors).
const EXIT_USAGE: u8 = 2;
/// Exit status: the capture given to `decode` is malformed or unreadable.
const EXIT_MALFORMED: u8 = 3;
/// Exit status: a bug in this program (it never exits with Rust's panic status 101).
const EXIT_INTERNAL: u8 = 70;
/// The largest capture `decode` reads: far beyond any real chain, small enough that
/// /dev/zero or a wrong file is refused quickly.
const MAX_CAPTURE: u64 = 64 << 20;

const AFTER_HELP: &str = "\
Examples:
  vfio-iommu-info list                        every IOMMU group, its devices and drivers
  vfio-iommu-info query 0000:03:00.0          usable IOVA ranges, holes, page sizes, DMA_AVAIL
  vfio-iommu-info query 4 --json              the same for IOMMU group 4, as JSON (schemas/
                                              describes it; a failure is JSON too)
  vfio-iommu-info list --format prometheus    gauges for node_exporter's textfile collector
  vfio-iommu-info list --format nfd           node labels for node-feature-discovery (features.d)
  vfio-iommu-info query 03:00.0 --backend iommufd
                                              the same through /dev/iommu and the device's cdev
  vfio-iommu-info device 03:00.0              device and region info (the s390 zPCI DMA window)
  vfio-iommu-info decode info.bin --byte-order big
                                              a buffer captured on s390x
  vfio-iommu-info decode --kind device dev.bin --byte-order big
                                              a VFIO_DEVICE_GET_INFO capture
  vfio-iommu-info explain 03:00.0 --iova 0xfee00000 --size 4096
                                              why MAP_DMA at that address fails
  vfio-iommu-info plan 03:00.0 --ram 2G --ram 1T --alloc 64K --dma-bits 28
                                              where guest RAM and a driver's buffers can go
  vfio-iommu-info plan 4 --attach 0000:04:00.0
                                              the ranges once that device's group is hotplugged
  vfio-iommu-info guest 03:00.0 --ram 16G --vmm libvirt
                                              the guest's phys-bits, PCI window, budgets
  vfio-iommu-info inspect $(pidof qemu-system-x86_64)
                                              a running VMM's containers, DMA_AVAIL, locked memory
  vfio-iommu-info budget 03:00.0 --needed 16G locked memory and mappings a 16 GiB guest
                                              costs, who is charged, and what to change
  vfio-iommu-info snapshot -o host.json       this host's facts, raw, for a bug report;
  vfio-iommu-info list --snapshot host.json   then every command answers from it anywhere

Exit status:
  0   success
  1   the system or the kernel refused (query), or a check failed (explain, plan), or the host cannot meet a guest plan (guest)
  2   bad command line (including a target that is no group, node or PCI address)
  3   decode: the capture is malformed or cannot be read (--snapshot: the snapshot)
  70  internal error (a bug: please report it)";

#[derive(Parser)]
#[command(name = "vfio-iommu-info", version, about = "Where a VFIO device may map DMA through its IOMMU, and why not elsewhere", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every IOMMU group: devices (address, vendor:device, class, name, driver), whether
    /// VFIO can use it, and its reserved regions. Needs neither root nor VFIO.
    List {
        /// One JSON array of groups instead of text (each with schema_version; a failure is
        /// a JSON error object on stdout).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), json (as --json), nfd (a feature
        /// file for node-feature-discovery's local source: features.d/) or prometheus (a
        /// textfile-collector file: gauges vfio_iommu_info_*).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<ListFormat>,
        /// Answer from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this
        /// host: nothing of this host is read.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
    },
    /// The whole VFIO dance for groups or devices, then the IOMMU info: page sizes, IOVA
    /// ranges, aperture, holes and the reserved regions they come from, DMA_AVAIL,
    /// dirty tracking. Several targets share one container.
    Query {
        /// IOMMU group number (4), group node (/dev/vfio/4) or PCI address (0000:03:00.0, 03:00.0).
        #[arg(required = true, value_parser = parse_target)]
        targets: Vec<Target>,
        /// One JSON object (the `decode --json` object plus `groups` and `reserved_regions`).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), json (as --json) or prometheus
        /// (a textfile-collector file: the container's mappings left and its IOVA ranges).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<QueryFormat>,
        /// Also write the raw VFIO_IOMMU_GET_INFO buffer to this file (for `decode` or a bug
        /// report; an sPAPR container's is its 32-byte VFIO_IOMMU_SPAPR_TCE_GET_INFO). The file is created new, mode 0644 before the umask: an
        /// existing name (a file, a symbolic link, a FIFO) is refused.
        #[arg(long, value_name = "FILE")]
        save_raw: Option<PathBuf>,
        /// With --save-raw: replace an existing regular file (a new file renamed over it;
        /// a symbolic link, a FIFO or a directory is still refused).
        #[arg(long, requires = "save_raw")]
        force: bool,
        /// Which kernel interface answers: the VFIO container (type1, or iommufd's compat
        /// container behind it), iommufd with the device's cdev (one PCI address), or auto
        /// (type1 when /dev/vfio/vfio exists, else iommufd).
        #[arg(long, value_enum, default_value_t = backend::BackendArg::Auto)]
        backend: backend::BackendArg,
        /// sPAPR TCE (IBM POWER) only: after the query, create a dynamic DMA window of
        /// PAGE:SIZE[:LEVELS] (e.g. 64K:4G; levels default to 1) with
        /// VFIO_IOMMU_SPAPR_TCE_CREATE, report where the platform put it, and remove it
        /// again (VFIO_IOMMU_SPAPR_TCE_REMOVE). Nothing is created without this flag.
        #[arg(long, value_name = "PAGE:SIZE[:LEVELS]", value_parser = plan::parse_window)]
        create_window: Option<vfio_iommu_info::WindowRequest>,
        /// Answer from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this
        /// host: nothing of this host is read.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
    },
    /// What a device says about itself: VFIO_DEVICE_GET_INFO (flags, counts, the s390 zPCI
    /// DMA window and the other capabilities) and every region (size, offset, flags, sparse
    /// mmap areas, types), through its group or its iommufd cdev.
    Device {
        /// The device's PCI address (0000:03:00.0, 03:00.0).
        #[arg(value_parser = parse_target)]
        target: Target,
        /// Open the device through its group (type1), its iommufd cdev, or auto (the group
        /// when /dev/vfio/vfio exists).
        #[arg(long, value_enum, default_value_t = backend::BackendArg::Auto)]
        backend: backend::BackendArg,
        /// One JSON object instead of text (schema_version first; a failure is a JSON error
        /// object on stdout; schemas/ has its JSON Schema).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
        /// Answer from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this
        /// host: the device as the snapshot opened it through its group.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
    },
    /// Decodes a raw buffer as a kernel filled it (the buffer's length is the file's
    /// length): an IOMMU info buffer (type1 or sPAPR TCE; one only the bytes cannot tell
    /// apart is refused: name it with --kind), or with `--kind` a device-info or
    /// region-info buffer.
    Decode {
        /// The capture, or - for standard input.
        file: PathBuf,
        /// What the buffer is: VFIO_IOMMU_GET_INFO of a type1 container (type1; `iommu` is
        /// its old name), VFIO_IOMMU_SPAPR_TCE_GET_INFO of an IBM POWER container
        /// (spapr-tce), either when the bytes say which (auto), VFIO_DEVICE_GET_INFO
        /// (device) or VFIO_DEVICE_GET_REGION_INFO (region).
        #[arg(long, value_enum, default_value_t = Kind::Auto)]
        kind: Kind,
        /// The byte order of the machine the capture came from (s390x is big).
        #[arg(long, value_enum, default_value_t = Order::Native)]
        byte_order: Order,
        /// Exactly one JSON object (keys: argsz, flags, iova_pgsizes, caps_truncated,
        /// iova_ranges, migration, dma_avail, unknown_caps, and extras).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
    },
    /// Checks everything between you and a working container for a device, with a fix for
    /// each problem: modules, IOMMU, group and drivers, permissions, interrupt remapping,
    /// DMA_AVAIL, and an IOVA you name.
    #[command(alias = "doctor")]
    Explain {
        /// IOMMU group number, group node or PCI address.
        #[arg(value_parser = parse_target)]
        target: Target,
        /// An IOVA you want to map (hex with 0x, or decimal).
        #[arg(long, value_parser = parse_u64, requires = "size")]
        iova: Option<u64>,
        /// The size of that mapping in bytes (hex with 0x, or decimal).
        #[arg(long, value_parser = parse_size, requires = "iova")]
        size: Option<u64>,
        /// One JSON object instead of text (schema_version first; a failure is a JSON error
        /// object on stdout; schemas/ has its JSON Schema).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
        /// Check from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this host:
        /// its files and containers, and the access and limits of the process that took it.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
    },
    /// Plans DMA before mapping: the usable space (aperture, holes with the reserved
    /// regions behind them, what a virtual IOMMU must advertise as reserved), checks of
    /// spans, allocations below a device's DMA limit, and a guest RAM layout for an
    /// identity map with its mapping count against DMA_AVAIL; with --attach, the ranges
    /// after hotplugging another group.
    Plan {
        /// IOMMU group number, group node or PCI address (several share one container).
        #[arg(value_parser = parse_target, required_unless_present = "capture", conflicts_with = "capture")]
        targets: Vec<Target>,
        /// Plans from a raw VFIO_IOMMU_GET_INFO capture instead (`query --save-raw`).
        #[arg(long, value_name = "FILE")]
        capture: Option<PathBuf>,
        /// The byte order of the machine the capture came from.
        #[arg(long, value_enum, default_value_t = Order::Native, requires = "capture")]
        byte_order: Order,
        /// A span to check, IOVA:SIZE (sizes take K, M, G, T); repeatable.
        #[arg(long = "check", value_name = "IOVA:SIZE", value_parser = plan::parse_span)]
        checks: Vec<(u64, u64)>,
        /// Allocates SIZE bytes of IOVA, as a user-space driver would; repeatable.
        #[arg(long = "alloc", value_name = "SIZE", value_parser = plan::parse_size)]
        allocs: Vec<u64>,
        /// The device's DMA address width: allocations end below 2^BITS (QEMU's edu: 28).
        #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u32).range(12..=64))]
        dma_bits: Option<u32>,
        /// Alignment of the allocations, a power of two (default: the smallest IOMMU page).
        #[arg(long, value_name = "ALIGN", value_parser = plan::parse_size, default_value = "0")]
        align: u64,
        /// A guest RAM region for an identity map: SIZE (placed) or SIZE@ADDR (fixed); repeatable.
        #[arg(long = "ram", value_name = "SIZE[@ADDR]", value_parser = plan::parse_ram)]
        ram: Vec<vfio_iommu_info::RamRegion>,
        /// What-if for hotplug: the ranges the container will have once this group (number,
        /// node or PCI address) is attached, predicted from sysfs without attaching it.
        /// Exits 1 when the kernel would refuse the attach.
        #[arg(long, value_name = "TARGET", value_parser = parse_target, conflicts_with = "capture")]
        attach: Option<Target>,
        /// Plan from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this host:
        /// the recorded container of the targets' groups.
        #[arg(long, value_name = "FILE", conflicts_with = "capture")]
        snapshot: Option<PathBuf>,
        /// One JSON object instead of text (schema_version first; a failure is a JSON error
        /// object on stdout; schemas/ has its JSON Schema).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
    },
    /// Settings for a whole guest, from the host facts: its phys-bits, where its RAM and
    /// 64-bit PCI window go, the vIOMMU's width and reserved ranges, the mappings and locked
    /// memory it costs, each with its reason; written for QEMU, libvirt or
    /// cloud-hypervisor. Exits 1, with the reason and the nearest setting that fits, when the
    /// host cannot meet what is asked.
    Guest {
        /// IOMMU group number, group node or PCI address of each device to pass through.
        #[arg(required = true, value_parser = parse_target)]
        targets: Vec<Target>,
        /// Boot RAM (QEMU's -m), e.g. 8G.
        #[arg(long, value_name = "SIZE", value_parser = plan::parse_size)]
        ram: u64,
        /// A NUMA node's size, in order; repeatable (they add up to --ram).
        #[arg(long = "node", value_name = "SIZE", value_parser = plan::parse_size)]
        nodes: Vec<u64>,
        /// RAM at a fixed guest physical address (a pc-dimm), SIZE@ADDR; repeatable.
        #[arg(long = "dimm", value_name = "SIZE@ADDR", value_parser = plan::parse_ram)]
        dimms: Vec<vfio_iommu_info::RamRegion>,
        /// The page size backing guest RAM (4K, 2M, 1G).
        #[arg(long, value_name = "SIZE", value_parser = plan::parse_size, default_value = "4K")]
        backing: u64,
        /// A 64-bit BAR's size to place in the PCI window; repeatable.
        #[arg(long = "bar", value_name = "SIZE", value_parser = plan::parse_size)]
        bars: Vec<u64>,
        /// The guest's vIOMMU.
        #[arg(long, value_enum, default_value_t = guest::ViommuArg::None)]
        viommu: guest::ViommuArg,
        /// Check this phys-bits instead of choosing it.
        #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(32..=64))]
        phys_bits: Option<u8>,
        /// Whose words: qemu, libvirt, cloud-hypervisor.
        #[arg(long, value_enum, default_value_t = guest::VmmArg::Qemu)]
        vmm: guest::VmmArg,
        /// QEMU's accelerator.
        #[arg(long, value_enum, default_value_t = guest::AccelArg::Kvm)]
        accel: guest::AccelArg,
        /// QEMU's CPU model (`host` takes host-phys-bits-limit).
        #[arg(long, default_value = "host")]
        cpu: String,
        /// Which kernel interface the VMM maps through (as for `query`).
        #[arg(long, value_enum, default_value_t = backend::BackendArg::Auto)]
        backend: backend::BackendArg,
        /// One JSON object (the plan, with `settings`) instead of text.
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
        /// Plan from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this host:
        /// its container of the targets' groups, its devices' BARs, the CPU's address
        /// width and the memlock limits of the process that took it.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
    },
    /// How close a running process (a VMM) is to its limits: its VFIO containers (DMA_AVAIL
    /// live, the mappings in use, the ranges), groups, device fds and iommufd IOAS, and its
    /// locked memory against RLIMIT_MEMLOCK, read by borrowing its fds (pidfd_getfd, Linux
    /// 5.6+, ptrace access needed) without disturbing it. Exits 1 when it holds none.
    Inspect {
        /// The process ID.
        #[arg(value_parser = clap::value_parser!(i32).range(1..))]
        pid: i32,
        /// One JSON object instead of text (schema_version first; a failure is a JSON error
        /// object on stdout; schemas/ has its JSON Schema).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
    },
    /// The budgets the kernel enforces on DMA maps, for a container (or an IOAS) it
    /// opens: locked memory (who is charged, RLIMIT_MEMLOCK, VmLck, CAP_IPC_LOCK,
    /// iommufd's rlimit mode) and mappings left (DMA_AVAIL, dma_entry_limit), with what to
    /// change (ulimit -l N, dma_entry_limit=N, page size, IOMMU_OPTION_RLIMIT_MODE).
    /// Exits 1 when a budget is exceeded.
    Budget {
        /// IOMMU group number, group node or PCI address (several share one container).
        #[arg(required = true, value_parser = parse_target)]
        targets: Vec<Target>,
        /// Memory the VMM will pin for DMA (guest RAM and buffers), e.g. 16G.
        #[arg(long, value_name = "SIZE", value_parser = plan::parse_size, default_value = "0")]
        needed: u64,
        /// Mappings it will make (default: --needed in the IOMMU's smallest pages, as a
        /// vIOMMU guest's mappings arrive).
        #[arg(long, value_name = "N")]
        mappings: Option<u64>,
        /// Which kernel interface the VMM maps through (as for `query`).
        #[arg(long, value_enum, default_value_t = backend::BackendArg::Auto)]
        backend: backend::BackendArg,
        /// One JSON object instead of text (schema_version first; a failure is a JSON error
        /// object on stdout; schemas/ has its JSON Schema).
        #[arg(long)]
        json: bool,
        /// How to write the output: text (the default), or json (as --json).
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<Format>,
        /// Budget from a snapshot (`vfio-iommu-info snapshot -o FILE`) instead of this
        /// host: its container of the targets' groups and the limits of the process that
        /// took it.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
    },
    /// The man pages (one per command) or a shell's completions, made from this command's
    /// own definition: for `make install` and packagers.
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
    /// Records everything the library reads from this host, raw, into a new file: the
    /// sysfs files and links of the IOMMU groups, devices and IOMMU units, the VFIO
    /// modules' parameters, the kernel release, the CPU's address sizes, each VFIO-viable
    /// group's VFIO_IOMMU_GET_INFO buffer (alone and all together), its vfio-pci devices'
    /// info, region info and BAR registers, and this process's memlock limits. No process
    /// memory, host name or serial number is in it. `list`, `query`, `plan`, `device`,
    /// `explain`, `guest` and `budget` answer from it with --snapshot.
    Snapshot {
        /// The file to create (refused when it exists).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Replace an existing regular file (a new file renamed over it).
        #[arg(long)]
        force: bool,
    },
}

impl Command {
    /// The output is JSON (`--json` or `--format json`): failures are reported as a JSON
    /// document too. `--format json` is folded into `json` here, once.
    fn json(&mut self) -> bool {
        let (json, format_json) = match self {
            Command::List { json, format, .. } => (json, *format == Some(ListFormat::Json)),
            Command::Query { json, format, .. } => (json, *format == Some(QueryFormat::Json)),
            Command::Device { json, format, .. }
            | Command::Decode { json, format, .. }
            | Command::Explain { json, format, .. }
            | Command::Plan { json, format, .. }
            | Command::Guest { json, format, .. }
            | Command::Budget { json, format, .. }
            | Command::Inspect { json, format, .. } => (json, *format == Some(Format::Json)),
            Command::Generate { .. } | Command::Snapshot { .. } => return false,
        };
        *json |= format_json;
        *json
    }
}

/// What `generate` makes.
#[derive(Subcommand)]
enum Generate {
    /// Writes vfio-iommu-info.1 and one page per subcommand (vfio-iommu-info-query.1, ...)
    /// into DIR, each created new (an existing file is refused).
    Man {
        /// An existing directory.
        dir: PathBuf,
        /// Replace pages already there (each a new file renamed over the old one; a
        /// symbolic link, a FIFO or a directory is still refused).
        #[arg(long)]
        force: bool,
    },
    /// Prints the completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The output formats of most subcommands.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// One JSON document (as --json): `schema_version`, exact integers with `_hex`
    /// strings beside them, a failure as `{"error": ...}` on stdout (schemas/).
    Json,
}

/// `list`'s output formats.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    /// For people.
    Text,
    /// An array of groups (as --json).
    Json,
    /// node-feature-discovery's feature file (features.d): IOMMU present, groups, viable
    /// groups, address width and DMA_AVAIL when known.
    Nfd,
    /// Prometheus's text format for the textfile collector: the host and each group.
    Prometheus,
}

/// `query`'s output formats.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum QueryFormat {
    /// For people.
    Text,
    /// One JSON document (as --json).
    Json,
    /// Prometheus's text format: DMA_AVAIL (mappings left) and the IOVA ranges.
    Prometheus,
}

/// The buffer `decode` reads.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// type1 or sPAPR TCE, when the bytes prove which.
    Auto,
    /// `struct vfio_iommu_type1_info`.
    #[value(alias = "iommu")]
    Type1,
    /// `struct vfio_iommu_spapr_tce_info`.
    SpaprTce,
    /// `struct vfio_device_info`.
    Device,
    /// `struct vfio_region_info`.
    Region,
}

#[derive(Clone, Copy, ValueEnum)]
enum Order {
    Native,
    Little,
    Big,
}

pub(crate) fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16),
        None => s.replace('_', "").parse(),
    };
    r.map_err(|_| format!("{s:?} is not a 64-bit number (hex with 0x, or decimal)"))
}

/// A failure: the message (empty: say nothing), the exit status, and the class of the
/// library error behind it, if any (for the `--json` error document).
struct Failure {
    message: String,
    status: u8,
    kind: Option<vfio_iommu_info::ErrorKind>,
}

impl Failure {
    /// A failure of the command's own (a usage error, a file it cannot read or write).
    fn new(message: String, status: u8) -> Failure {
        Failure {
            message,
            status,
            kind: None,
        }
    }

    /// A library error: the system or the kernel refused (exit status 1), with its class.
    fn lib(e: vfio_iommu_info::Error) -> Failure {
        Failure {
            message: e.to_string(),
            status: EXIT_FAILURE,
            kind: Some(e.kind()),
        }
    }

    /// A malformed capture (exit status 3), classed `malformed`.
    fn malformed(message: String) -> Failure {
        Failure {
            message,
            status: EXIT_MALFORMED,
            kind: Some(vfio_iommu_info::ErrorKind::Malformed),
        }
    }
}

/// An output error; a reader that went away (`| head`) is no failure to report.
fn output_error(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Failure::new(String::new(), 0);
    }
    Failure::new(format!("writing output: {e}"), EXIT_FAILURE)
}

/// Prints `v` as the command's JSON document ([`vfio_iommu_info::json::document`]:
/// `schema_version` and the `_hex` siblings).
fn print_json(v: &Value) -> Result<(), Failure> {
    print_document(&vfio_iommu_info::json::document(v.clone()))
}

fn print_document(v: &Value) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(v)
        .map_err(|e| Failure::new(format!("writing JSON: {e}"), EXIT_FAILURE))?;
    text.push('\n');
    print_text(&text)
}

fn print_text(s: &str) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(s.as_bytes())
        .map_err(output_error)
}

fn parse_size(s: &str) -> Result<u64, String> {
    match parse_u64(s)? {
        0 => Err("a mapping of 0 bytes: give the size in bytes".to_owned()),
        n => Ok(n),
    }
}

fn parse_target(s: &str) -> Result<Target, String> {
    s.parse().map_err(|e: vfio_iommu_info::Error| e.to_string())
}

/// Reads a capture (`-`: standard input), refusing anything larger than [`MAX_CAPTURE`].
fn read_capture(file: &Path, name: &str) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| {
        let errno = vfio_iommu_info::Errno::from(e);
        Failure {
            message: format!("cannot read {name}: {errno}"),
            status: EXIT_MALFORMED,
            kind: Some(vfio_iommu_info::ErrorKind::Os(errno)),
        }
    };
    let mut buf = Vec::new();
    let n = if file.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_CAPTURE + 1)
            .read_to_end(&mut buf)
            .map_err(fail)?
    } else {
        std::fs::File::open(file)
            .map_err(fail)?
            .take(MAX_CAPTURE + 1)
            .read_to_end(&mut buf)
            .map_err(fail)?
    };
    if n as u64 > MAX_CAPTURE {
        return Err(Failure::new(
            format!(
                "{name} is larger than {} MiB: not a VFIO_IOMMU_GET_INFO buffer",
                MAX_CAPTURE >> 20
            ),
            EXIT_MALFORMED,
        ));
    }
    Ok(buf)
}

/// The flag to suggest when a native-order decode looks like a capture of the other byte
/// order: its byte-swapped argsz is the buffer's length, or its swapped flags are type1's.
fn other_order_hint(buf: &[u8], info: &vfio_iommu_info::IommuInfo) -> Option<&'static str> {
    let swapped_flags = info.flags.swap_bytes();
    let looks_swapped = info.argsz.swap_bytes() as usize == buf.len()
        || (info.flags > 3 && (1..=3).contains(&swapped_flags));
    looks_swapped.then_some(if cfg!(target_endian = "little") {
        "--byte-order big"
    } else {
        "--byte-order little"
    })
}

impl From<Order> for ByteOrder {
    fn from(o: Order) -> ByteOrder {
        match o {
            Order::Native => ByteOrder::Native,
            Order::Little => ByteOrder::Little,
            Order::Big => ByteOrder::Big,
        }
    }
}

/// The name of a capture file in messages.
fn capture_name(file: &Path) -> String {
    if file.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        file.display().to_string()
    }
}

/// A capture read and decoded: its name in messages, its bytes and the info. A native
/// decode that looks like the other byte order gets a hint on stderr.
fn decode_capture(
    file: &Path,
    order: ByteOrder,
) -> Result<(String, Vec<u8>, vfio_iommu_info::IommuInfo), Failure> {
    let name = capture_name(file);
    let buf = read_capture(file, &name)?;
    let info = decode_type1_buffer(&name, &buf, order)?;
    Ok((name, buf, info))
}

/// A capture decoded as type1; a native decode that looks like the other byte order gets
/// a hint on stderr.
fn decode_type1_buffer(
    name: &str,
    buf: &[u8],
    order: ByteOrder,
) -> Result<vfio_iommu_info::IommuInfo, Failure> {
    let info = vfio_iommu_info::decode_with_order(buf, order)
        .map_err(|e| Failure::malformed(format!("{name}: {e}")))?;
    if order == ByteOrder::Native {
        if let Some(flag) = other_order_hint(buf, &info) {
            eprintln!("vfio-iommu-info: hint: {name} looks like a capture from a machine of the other byte order: try {flag}");
        }
    }
    Ok(info)
}

/// The targets opened in one container, and its IOMMU info.
fn open_and_query(
    targets: &[Target],
    paths: &HostPaths,
) -> Result<(Container, vfio_iommu_info::IommuInfo), Failure> {
    let container = Container::open_targets(targets, paths).map_err(Failure::lib)?;
    let info = container.query().map_err(Failure::lib)?;
    Ok((container, info))
}

/// `decode --kind device|region`.
fn decode_device_buffer(
    file: &Path,
    kind: Kind,
    order: ByteOrder,
    json: bool,
) -> Result<(), Failure> {
    let name = capture_name(file);
    let buf = read_capture(file, &name)?;
    let malformed = |e: vfio_iommu_info::DecodeError| Failure::malformed(format!("{name}: {e}"));
    // argsz is the buffer's length in an exact capture: when only its byte-swapped value
    // is, the capture comes from a machine of the other byte order.
    if let Some(&[a, b, c, d]) = buf.get(..4) {
        let big = order.resolve() == ByteOrder::Big;
        let argsz = if big {
            u32::from_be_bytes([a, b, c, d])
        } else {
            u32::from_le_bytes([a, b, c, d])
        };
        if argsz as usize != buf.len() && argsz.swap_bytes() as usize == buf.len() {
            eprintln!(
                "vfio-iommu-info: hint: {name} looks like a capture from a machine of the other byte order: try --byte-order {}",
                if big { "little" } else { "big" }
            );
        }
    }
    if kind == Kind::Device {
        let info =
            vfio_iommu_info::device_info::decode_device_info(&buf, order).map_err(malformed)?;
        if json {
            return print_json(&vfio_iommu_info::json::device_info_to_json(&info));
        }
        let mut out = format!("{:<13}{name} ({} bytes, {order})\n", "capture", buf.len());
        out.push_str(&device::render_device_info(&info));
        return print_text(&out);
    }
    let info = vfio_iommu_info::region_info::decode_region_info(&buf, order).map_err(malformed)?;
    if json {
        return print_json(&vfio_iommu_info::json::region_info_to_json(&info));
    }
    let mut out = format!("{:<13}{name} ({} bytes, {order})\n", "capture", buf.len());
    out.push_str(&render::columns(&[device::region_row(&info)], "  "));
    print_text(&out)
}

/// `decode --kind spapr-tce`, or an sPAPR buffer `auto` recognised.
fn print_spapr_tce(
    name: &str,
    buf: &[u8],
    order: ByteOrder,
    info: &vfio_iommu_info::SpaprTceInfo,
    json: bool,
) -> Result<(), Failure> {
    if json {
        return print_json(&vfio_iommu_info::json::spapr_tce_to_json(info));
    }
    let mut out = format!(
        "capture      {name} ({} bytes, {}-endian, sPAPR TCE)\n",
        buf.len(),
        order.resolve()
    );
    out.push_str(&render::spapr_tce(info));
    out.push_str(&render::provenance(
        &vfio_iommu_info::facts::DmaFacts::from_spapr_tce(info),
    ));
    print_text(&out)
}

fn decode(file: &Path, kind: Kind, order: Order, json: bool) -> Result<(), Failure> {
    let order = ByteOrder::from(order);
    if matches!(kind, Kind::Device | Kind::Region) {
        return decode_device_buffer(file, kind, order, json);
    }
    let name = capture_name(file);
    let buf = read_capture(file, &name)?;
    match kind {
        Kind::Device | Kind::Region | Kind::Type1 => {}
        Kind::SpaprTce => {
            let info = vfio_iommu_info::decode_spapr_tce_with_order(&buf, order)
                .map_err(|e| Failure::malformed(format!("{name}: {e}")))?;
            return print_spapr_tce(&name, &buf, order, &info, json);
        }
        Kind::Auto => {
            match vfio_iommu_info::detect_iommu_info(&buf, order) {
                vfio_iommu_info::Detected::SpaprTce(info) => {
                    return print_spapr_tce(&name, &buf, order, &info, json)
                }
                vfio_iommu_info::Detected::Ambiguous { type1, spapr_tce } => {
                    return Err(Failure::new(
                        format!(
                            "{name}: the bytes cannot say which IOMMU filled this buffer: type1's VFIO_IOMMU_GET_INFO and sPAPR TCE's VFIO_IOMMU_SPAPR_TCE_GET_INFO share one ioctl number and flag bit 0, and this one has no type1 capability chain. Read as type1 it has page sizes {}; as sPAPR TCE a default window of {:#x} bytes at {:#x}. Name it: --kind type1 or --kind spapr-tce (on the machine, VFIO_CHECK_EXTENSION of the container says which)",
                            type1
                                .iova_pgsizes
                                .map_or_else(|| "none".to_owned(), |p| p.to_string()),
                            spapr_tce.dma32_window_size,
                            spapr_tce.dma32_window_start
                        ),
                        EXIT_MALFORMED,
                    ));
                }
                // A type1 buffer, or neither: the type1 reading and its errors, as before.
                vfio_iommu_info::Detected::Type1(_) | vfio_iommu_info::Detected::Neither { .. } => {
                }
            }
        }
    }
    let info = decode_type1_buffer(&name, &buf, order)?;
    if json {
        return print_json(&info_to_json(&info));
    }
    let chain: Vec<String> = info
        .chain
        .iter()
        .map(|c| {
            let cap = vfio_iommu_info::Type1Cap::from_id(c.id);
            format!(
                "{}@{}",
                cap.map_or_else(|| format!("id {}", c.id), |k| k.name().to_owned()),
                c.offset
            )
        })
        .collect();
    let endian = if order.resolve() == ByteOrder::Big {
        "big-endian"
    } else {
        "little-endian"
    };
    let mut out = format!("capture      {name} ({} bytes, {endian})\n", buf.len());
    out.push_str(&format!(
        "header       argsz {}, flags {:#x}, cap_offset {}{}\n",
        info.argsz,
        info.flags,
        info.cap_offset
            .map_or_else(|| "-".to_owned(), |o| o.to_string()),
        if info.caps_truncated {
            format!(
                " (capabilities did not fit: the kernel needs {} bytes)",
                info.argsz
            )
        } else {
            String::new()
        }
    ));
    if !chain.is_empty() {
        out.push_str(&format!("chain        {}\n", chain.join(" -> ")));
    }
    out.push_str(&render::info(&info, &[]));
    print_text(&out)
}

/// How `query` writes its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Out {
    Text,
    Json,
    Prometheus,
}

impl Out {
    fn of(json: bool, prometheus: bool) -> Out {
        match (json, prometheus) {
            (true, _) => Out::Json,
            (false, true) => Out::Prometheus,
            (false, false) => Out::Text,
        }
    }
}

/// The `container` label of `query --format prometheus`: the targets as given.
pub(crate) fn container_label(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn query(
    targets: &[Target],
    out: Out,
    save_raw: Option<&PathBuf>,
    force: bool,
    backend: backend::BackendArg,
    create_window: Option<vfio_iommu_info::WindowRequest>,
    snapshot: Option<&Path>,
) -> Result<(), Failure> {
    if let Some(path) = save_raw {
        output::check_writable(path, force).map_err(|e| Failure::new(e, EXIT_FAILURE))?;
    }
    let snapshot = snapshot.map(snapshot::load).transpose()?;
    let paths = snapshot
        .as_ref()
        .map_or_else(HostPaths::default, |s| s.paths());
    let chosen = backend::choose(backend, targets, &paths)?;
    if let Some(snapshot) = &snapshot {
        if create_window.is_some() {
            return Err(Failure::new(
                "--create-window creates a window on a live host: a snapshot has none to create"
                    .to_owned(),
                EXIT_USAGE,
            ));
        }
        if let backend::Chosen::Iommufd(address, reason) = &chosen {
            if save_raw.is_some() {
                return Err(save_raw_is_type1());
            }
            let report = snapshot.iommufd_report(address).map_err(Failure::lib)?;
            return backend::answer_iommufd(address, reason, &report, out);
        }
        let groups = group_numbers(targets, &paths)?;
        if let Some((spapr, reason)) = spapr_tce_of(snapshot, &groups, &chosen, backend)? {
            if let Some(path) = save_raw {
                output::write_new(path, &spapr.raw, force)
                    .map_err(|e| Failure::new(e, EXIT_FAILURE))?;
            }
            let facts = spapr.facts(&paths);
            return backend::answer_spapr_tce(
                targets,
                (&spapr.info, &facts, &spapr.groups),
                &reason,
                &paths,
                out,
                None,
            );
        }
        // Neither iommufd nor sPAPR TCE (spapr_tce_of answered those or failed): type1.
        let backend::Chosen::Type1(reason) = chosen else {
            return Err(Failure::lib(vfio_iommu_info::Error::NotInSnapshot {
                what: "an sPAPR TCE answer".to_owned(),
                why: "the snapshot holds no sPAPR TCE container of these groups".to_owned(),
            }));
        };
        let container = snapshot.container(&groups).map_err(Failure::lib)?;
        if let Some(path) = save_raw {
            output::write_new(path, &container.raw, force)
                .map_err(|e| Failure::new(e, EXIT_FAILURE))?;
        }
        let facts = container.facts(&paths);
        return answer_type1(
            targets,
            out,
            &container.info,
            &facts,
            &reason,
            &groups,
            &paths,
        );
    }
    let reason = match chosen {
        backend::Chosen::Iommufd(address, reason) => {
            if create_window.is_some() {
                return Err(Failure::new(
                    "--create-window creates an sPAPR TCE window (IBM POWER): iommufd has none to create".to_owned(),
                    EXIT_USAGE,
                ));
            }
            if save_raw.is_some() {
                return Err(save_raw_is_type1());
            }
            return backend::query_iommufd(&address, &reason, &paths, out);
        }
        backend::Chosen::SpaprTce(reason) => {
            return backend::query_spapr_tce(
                targets,
                &reason,
                &paths,
                out,
                save_raw.map(|p| (p.as_path(), force)),
                create_window,
            );
        }
        backend::Chosen::Type1(reason) => reason,
    };
    let container = match Container::open_targets(targets, &paths) {
        Ok(c) => c,
        // POWER: the container offers only sPAPR TCE; auto answers through it.
        Err(vfio_iommu_info::Error::SpaprTceContainer { model, .. })
            if backend == backend::BackendArg::Auto =>
        {
            return backend::query_spapr_tce(
                targets,
                &format!("auto: the container offers only {model}"),
                &paths,
                out,
                save_raw.map(|p| (p.as_path(), force)),
                create_window,
            );
        }
        Err(e) => return Err(Failure::lib(e)),
    };
    if create_window.is_some() {
        return Err(Failure::new(
            format!("--create-window creates an sPAPR TCE window (IBM POWER): this container is {} (its IOVA ranges are fixed; nothing to create)", vfio_iommu_info::facts::Backend::from(container.backend()).name()),
            EXIT_USAGE,
        ));
    }
    let info = container.query().map_err(Failure::lib)?;
    let facts = container.facts(&info, &paths);
    if let Some(path) = save_raw {
        let raw = capture_type1_with(&SystemKernel, std::os::fd::AsFd::as_fd(&container))
            .map_err(Failure::lib)?;
        output::write_new(path, &raw, force).map_err(|e| Failure::new(e, EXIT_FAILURE))?;
    }
    let (groups, _) = groups_and_regions(&container, &paths);
    answer_type1(targets, out, &info, &facts, &reason, &groups, &paths)
}

/// The sPAPR TCE container of `groups` in `snapshot`, and why, when `query` answers
/// through it: asked for (`--backend spapr-tce`), or `auto` on a host whose container
/// offered only sPAPR TCE (IBM POWER: live, auto falls back to it exactly then, and the
/// snapshot holds such an answer exactly then).
fn spapr_tce_of(
    snapshot: &vfio_iommu_info::Snapshot,
    groups: &[u32],
    chosen: &backend::Chosen,
    arg: backend::BackendArg,
) -> Result<Option<(vfio_iommu_info::snapshot::ReplayedSpaprTce, String)>, Failure> {
    match chosen {
        backend::Chosen::SpaprTce(reason) => snapshot
            .spapr_tce_container(groups)
            .map(|c| Some((c, reason.clone())))
            .map_err(Failure::lib),
        backend::Chosen::Type1(_) if arg == backend::BackendArg::Auto => {
            match snapshot.spapr_tce_container(groups) {
                Ok(c) => {
                    let reason = format!("auto: the container offers only {}", c.model);
                    Ok(Some((c, reason)))
                }
                Err(vfio_iommu_info::Error::NotInSnapshot { .. }) => Ok(None),
                Err(e) => Err(Failure::lib(e)),
            }
        }
        _ => Ok(None),
    }
}

/// `--save-raw` on the iommufd path: a usage error, live and from a snapshot.
fn save_raw_is_type1() -> Failure {
    Failure::new(
        "--save-raw records the type1 VFIO_IOMMU_GET_INFO buffer: use it with --backend type1"
            .to_owned(),
        EXIT_USAGE,
    )
}

/// `query`'s answer for a VFIO container of `groups` (live or from a snapshot).
fn answer_type1(
    targets: &[Target],
    out: Out,
    info: &vfio_iommu_info::IommuInfo,
    facts: &vfio_iommu_info::facts::DmaFacts,
    reason: &str,
    groups: &[u32],
    paths: &HostPaths,
) -> Result<(), Failure> {
    let regions = regions_of(groups, paths);
    if out == Out::Prometheus {
        return print_text(&export::query_prometheus(&container_label(targets), facts));
    }
    if out == Out::Json {
        return print_json(&backend::type1_document(
            info, facts, reason, groups, &regions,
        ));
    }
    let mut out = render::target_line(targets, groups);
    out.push_str(&backend::type1_line(
        facts,
        reason,
        &paths.vfio_dir.join("vfio"),
    ));
    out.push_str(&render::info(info, &regions));
    out.push_str(&render::provenance(facts));
    print_text(&out)
}

/// The container's group numbers, and their reserved regions with the group of each.
fn groups_and_regions(
    container: &Container,
    paths: &HostPaths,
) -> (Vec<u32>, Vec<(u32, ReservedRegion)>) {
    let groups: Vec<u32> = container
        .groups()
        .iter()
        .filter_map(|g| g.number())
        .collect();
    let regions = regions_of(&groups, paths);
    (groups, regions)
}

/// The targets' groups in the targets' order, each once: the order a live container
/// attaches them in.
pub(crate) fn group_numbers(targets: &[Target], paths: &HostPaths) -> Result<Vec<u32>, Failure> {
    let mut groups: Vec<u32> = Vec::new();
    for t in targets {
        let g = t.group_number(paths).map_err(Failure::lib)?;
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    Ok(groups)
}

/// The reserved regions of `groups`, with the group of each.
fn regions_of(groups: &[u32], paths: &HostPaths) -> Vec<(u32, ReservedRegion)> {
    groups
        .iter()
        .flat_map(|&g| {
            paths
                .sysfs
                .reserved_regions(g)
                .unwrap_or_default()
                .into_iter()
                .map(move |r| (g, r))
        })
        .collect()
}

/// The targets as `plan` names them.
fn names_of(targets: &[Target]) -> String {
    let names: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    names.join(", ")
}

/// `plan --attach`: what `predict` says attaching the target's group would make of the
/// container's space, and how the kernel would refuse it, if it would.
fn what_if_of(
    attach: Option<&Target>,
    paths: &HostPaths,
    backend: vfio_iommu_info::facts::ContainerBackend,
    predict: impl FnOnce(u32) -> Result<Option<vfio_iommu_info::WhatIf>, vfio_iommu_info::Error>,
) -> Result<
    Option<(
        vfio_iommu_info::WhatIf,
        Option<vfio_iommu_info::AttachRefusal>,
    )>,
    Failure,
> {
    let Some(target) = attach else {
        return Ok(None);
    };
    let group = target.group_number(paths).map_err(Failure::lib)?;
    Ok(predict(group).map_err(Failure::lib)?.map(|w| {
        let refusal = w.refusal(backend.into(), &[]);
        (w, refusal)
    }))
}

/// Where `plan` gets its space from.
enum PlanSource<'a> {
    /// A container of these groups, and the group to predict attaching.
    Live(&'a [Target], Option<&'a Target>),
    /// The same, answered from a snapshot.
    Snapshot(
        &'a vfio_iommu_info::Snapshot,
        &'a [Target],
        Option<&'a Target>,
    ),
    Capture(&'a Path, ByteOrder),
}

fn plan(source: PlanSource<'_>, mut req: plan::Request, json: bool) -> Result<ExitCode, Failure> {
    let failed = Failure::lib;
    let (info, regions, name, what_if) = match source {
        PlanSource::Live(targets, attach) => {
            let paths = HostPaths::default();
            let (container, info) = open_and_query(targets, &paths)?;
            let (_, regions) = groups_and_regions(&container, &paths);
            let regions: Vec<ReservedRegion> = regions.into_iter().map(|(_, r)| r).collect();
            let what_if = what_if_of(attach, &paths, container.backend(), |g| {
                container.what_if_attach(&paths, g)
            })?;
            (info, regions, names_of(targets), what_if)
        }
        PlanSource::Snapshot(snapshot, targets, attach) => {
            let paths = snapshot.paths();
            let groups = group_numbers(targets, &paths)?;
            let container = snapshot.container(&groups).map_err(failed)?;
            let regions: Vec<ReservedRegion> = regions_of(&groups, &paths)
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            let what_if = what_if_of(attach, &paths, container.backend, |g| {
                container.what_if_attach(&paths, g)
            })?;
            (container.info, regions, names_of(targets), what_if)
        }
        PlanSource::Capture(file, order) => {
            let (name, _, info) = decode_capture(file, order)?;
            (info, Vec::new(), name, None)
        }
    };
    let Some(space) = vfio_iommu_info::IovaSpace::from_info(&info) else {
        let why = info
            .absence(vfio_iommu_info::Type1Cap::IovaRange)
            .map(|a| a.explain(vfio_iommu_info::Type1Cap::IovaRange))
            .unwrap_or_default();
        return Err(Failure::new(
            format!("{name}: no IOVA ranges to plan in: {why}"),
            EXIT_FAILURE,
        ));
    };
    req.dma_avail = info.dma_avail.present().copied();
    let mut p = plan::plan(space.with_reserved_regions(&regions), &req).map_err(|e| Failure {
        message: e.to_string(),
        status: EXIT_FAILURE,
        kind: Some(vfio_iommu_info::ErrorKind::BadArgument),
    })?;
    p.what_if = what_if;
    if json {
        print_json(&plan::to_json(&p))?;
    } else {
        print_text(&plan::render(&p))?;
    }
    Ok(if p.failed() {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::List {
            json,
            format,
            snapshot,
        } => {
            let snapshot = snapshot.as_deref().map(snapshot::load).transpose()?;
            let paths = snapshot
                .as_ref()
                .map_or_else(HostPaths::default, |s| s.paths());
            match format {
                Some(ListFormat::Nfd) => {
                    let host = vfio_iommu_info::HostSummary::read(&paths).map_err(Failure::lib)?;
                    print_text(&export::nfd(&host))?;
                    return Ok(ExitCode::SUCCESS);
                }
                Some(ListFormat::Prometheus) => {
                    let host = vfio_iommu_info::HostSummary::read(&paths).map_err(Failure::lib)?;
                    print_text(&export::list_prometheus(&host))?;
                    return Ok(ExitCode::SUCCESS);
                }
                Some(ListFormat::Text | ListFormat::Json) | None => {}
            }
            let groups = list::collect(
                &paths,
                &vfio_iommu_info::sys::pci_ids::PciIds::load(paths.view()),
            )
            .map_err(Failure::lib)?;
            if json {
                print_json(&list::to_json(&groups))?;
            } else {
                print_text(&list::render(&groups))?;
            }
        }
        Command::Query {
            targets,
            json,
            format,
            save_raw,
            force,
            backend,
            create_window,
            snapshot,
        } => query(
            &targets,
            Out::of(json, format == Some(QueryFormat::Prometheus)),
            save_raw.as_ref(),
            force,
            backend,
            create_window,
            snapshot.as_deref(),
        )?,
        Command::Decode {
            file,
            kind,
            byte_order,
            json,
            format: _,
        } => decode(&file, kind, byte_order, json)?,
        Command::Device {
            target,
            backend,
            json,
            format: _,
            snapshot,
        } => device::device(&target, backend, json, snapshot.as_deref())?,
        Command::Plan {
            targets,
            capture,
            byte_order,
            checks,
            allocs,
            dma_bits,
            align,
            ram,
            attach,
            snapshot,
            json,
            format: _,
        } => {
            let snapshot = snapshot.as_deref().map(snapshot::load).transpose()?;
            let source = match (&capture, &snapshot) {
                (Some(file), _) => PlanSource::Capture(file, byte_order.into()),
                (None, Some(s)) => PlanSource::Snapshot(s, &targets, attach.as_ref()),
                (None, None) => PlanSource::Live(&targets, attach.as_ref()),
            };
            let limit = match dma_bits {
                Some(bits) if bits < 64 => (1u64 << bits) - 1,
                _ => u64::MAX,
            };
            let req = plan::Request {
                checks,
                allocs,
                align,
                limit,
                ram,
                dma_avail: None,
            };
            return plan(source, req, json);
        }
        Command::Inspect { pid, json, .. } => return inspect::inspect(pid, json),
        Command::Guest {
            targets,
            ram,
            nodes,
            dimms,
            backing,
            bars,
            viommu,
            phys_bits,
            vmm,
            accel,
            cpu,
            backend,
            json,
            format: _,
            snapshot,
        } => {
            let snapshot = snapshot.as_deref().map(snapshot::load).transpose()?;
            let mut req = vfio_iommu_info::GuestRequest::new(ram);
            req.nodes = nodes;
            req.backing_page = backing;
            req.bars = bars;
            req.viommu = viommu.into();
            req.phys_bits = phys_bits;
            for d in dimms {
                let Some(at) = d.at else {
                    return Err(Failure::new(
                        format!("--dimm {:#x}: give its address, SIZE@ADDR", d.size),
                        EXIT_USAGE,
                    ));
                };
                req.fixed
                    .push(vfio_iommu_info::FixedRam { at, size: d.size });
            }
            let out = guest::Output {
                vmm,
                accel,
                cpu,
                json,
            };
            return guest::guest(&targets, backend, req, &out, snapshot.as_ref());
        }
        Command::Explain {
            target: t,
            iova,
            size,
            json,
            format: _,
            snapshot,
        } => {
            let span = iova
                .zip(size)
                .map(|(iova, size)| explain::Span { iova, size });
            let snapshot = snapshot.as_deref().map(snapshot::load).transpose()?;
            let report = match &snapshot {
                Some(s) => {
                    explain::explain(&t, span.as_ref(), &s.paths(), explain::Answers::Snapshot(s))
                }
                None => explain::explain(
                    &t,
                    span.as_ref(),
                    &HostPaths::default(),
                    explain::Answers::Live,
                ),
            };
            if json {
                print_json(&explain::to_json(&report))?;
            } else {
                print_text(&explain::render(&report))?;
            }
            if report.failed() {
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        }
        Command::Budget {
            targets,
            needed,
            mappings,
            backend,
            json,
            format: _,
            snapshot,
        } => {
            let snapshot = snapshot.as_deref().map(snapshot::load).transpose()?;
            let req = budget::Request { needed, mappings };
            return budget::budget(&targets, backend, &req, json, snapshot.as_ref());
        }
        Command::Snapshot { output, force } => snapshot::take(&output, force)?,
        Command::Generate { what } => {
            let cmd = command();
            match what {
                Generate::Man { dir, force } => {
                    let pages = generate::man(&cmd, &dir, force)?;
                    print_text(&format!("{}\n", pages.join("\n")))?;
                }
                Generate::Completions { shell } => {
                    std::io::stdout()
                        .lock()
                        .write_all(&generate::completions(&cmd, shell))
                        .map_err(output_error)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command's definition, with `--version` naming the library it is built on.
fn command() -> clap::Command {
    Cli::command().long_version(format!(
        "{} (library vfio-iommu-info {}, C ABI libvfio_iommu_info.so.0)",
        env!("CARGO_PKG_VERSION"),
        vfio_iommu_info::VERSION
    ))
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let mut cli = cli;
    let json = cli.command.json();
    // A bug prints one line, not the default hook's message and backtrace note.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map_or_else(|| "?".to_owned(), |l| l.to_string());
        eprintln!("vfio-iommu-info: internal error at {at}: this is a bug, please report it with the command line");
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(Failure {
            message,
            status,
            kind,
        })) => {
            if message.is_empty() {
                // A reader that went away (`| head`): nothing to say, to anyone.
            } else if json {
                let doc = vfio_iommu_info::json::error_document(&message, kind, status);
                // Standard output is what scripts parse; if it is gone too, say it on
                // standard error.
                if print_document(&doc).is_err() {
                    eprintln!("vfio-iommu-info: {message}");
                }
            } else {
                eprintln!("vfio-iommu-info: {message}");
            }
            ExitCode::from(status)
        }
        Err(_) => {
            if json {
                let doc = vfio_iommu_info::json::error_document(
                    "internal error: this is a bug, please report it with the command line",
                    None,
                    EXIT_INTERNAL,
                );
                let _ = print_document(&doc);
            }
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}
