//! The text of `/sys/kernel/iommu_groups/N/reserved_regions` (`0x... 0x... msi` a line):
//! arbitrary bytes, read as the library reads the file (UTF-8, lossily when it is not),
//! parsed by `sysfs::parse_reserved_regions`; then what a user does with the regions:
//! their kinds, `overlaps`/`causes_hole`, and an `IovaSpace` whose holes are attributed to
//! them (`with_reserved_regions`, the JSON form, then `exercise_space`). The space's
//! usable ranges are the complement of the regions the kernel excludes from the IOVA
//! list, as the kernel computes them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::iova::{subtract, IovaRange};
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{json, IovaSpace, PageSizes};
use vfio_iommu_info_fuzz::{exercise_space, Input};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let strict = std::str::from_utf8(data).map(parse_reserved_regions);
    let regions = match parse_reserved_regions(&text) {
        Ok(regions) => regions,
        Err((line, content, problem)) => {
            assert!(line >= 1 && line <= text.lines().count());
            assert!(!problem.is_empty());
            let _ = content;
            return;
        }
    };
    if let Ok(strict) = strict {
        assert_eq!(strict.as_ref().ok(), Some(&regions));
    }
    let excluded: Vec<IovaRange> = regions
        .iter()
        .filter(|r| {
            let _ = (r.kind.name(), format!("{:?}", r.kind));
            r.kind.excluded_from_iova_list()
        })
        .map(|r| r.range)
        .collect();
    for r in &regions {
        assert!(r.overlaps(r.range));
    }
    let mut p = Input::from_end(data);
    let usable = subtract(IovaRange::FULL, &excluded);
    let pgsizes = p.bool().then(|| PageSizes(p.u64()));
    let space = IovaSpace::new(&usable, pgsizes).with_reserved_regions(&regions);
    for h in space.holes() {
        for cause in &h.causes {
            assert!(cause.causes_hole(h.range));
        }
    }
    let _ = json::space_to_json(&space).to_string();
    exercise_space(&space, &mut p);
});
