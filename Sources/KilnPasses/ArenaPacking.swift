import KilnIR

/// One buffer for the arena packer: bytes (a multiple of `MemoryPlan.alignment`) and its
/// lifetime as schedule positions [first, last].
struct PackItem {
    var size: Int
    var first: Int
    var last: Int
    /// Set by the packer.
    var offset = 0
}

/// Greedy packing by size: the largest buffers are placed first (ties: earliest first), each at
/// the lowest offset where it overlaps no placed buffer alive at the same time. Sets each item's
/// offset and returns the arena size.
///
/// The definition is a scan: the placed buffers alive at the same time, by offset, up to the
/// first gap that fits (`scanFit`), quadratic when many values live at once, as in gradient
/// graphs. Three searches give the same offset faster, each falling back to the next:
/// - a run of at least `sweepThreshold` equal-size buffers is placed in time order by a sweep
///   that keeps the buffers alive at the current moment in a `FreeSpaceTree`, so it finds the
///   lowest free run in O(log) however they are stacked; buffers born later in the lifetime
///   come from a second `ArenaOccupancy` keyed by birth;
/// - other buffers search `ArenaOccupancy` (merged byte ranges over a segment tree of time);
/// - a search that walks more than `budget` ranges gives up to the scan.
func packArena(_ items: inout [PackItem]) -> Int {
    let order = items.indices.sorted { items[$0].size != items[$1].size ? items[$0].size > items[$1].size : items[$0].first < items[$1].first }
    let length = 1 + (items.map(\.last).max() ?? 0)
    // Offsets are sums of sizes, so the sweep's tree can count in their greatest common divisor.
    let unit = items.reduce(0) { greatestCommonDivisor($0, $1.size) }
    let units = unit == 0 ? 0 : items.reduce(0) { $0 + $1.size } / unit + 1
    var arena = 0
    var alive = ArenaOccupancy(scheduleLength: length)
    var born = ArenaOccupancy(scheduleLength: length)
    var placed: [Int] = []
    let budget = 256

    func place(_ i: Int, at offset: Int) {
        items[i].offset = offset
        arena = Swift.max(arena, offset + items[i].size)
        alive.insert(offset: offset, size: items[i].size, first: items[i].first, last: items[i].last)
        born.insert(offset: offset, size: items[i].size, first: items[i].first, last: items[i].first)
        placed.append(i)
    }

    var start = 0
    while start < order.count {
        var end = start + 1
        while end < order.count, items[order[end]].size == items[order[start]].size { end += 1 }
        let size = items[order[start]].size
        // A sweep first builds a tree over the arena and re-enters every placed buffer: worth it
        // only when the run is long enough to pay for both.
        let run = end - start
        if run >= sweepThreshold, size > 0, units <= maxSweepUnits, run * 1024 >= units, run * 16 >= placed.count {
            var sweep = Sweep(units: units, unit: unit, placed: placed, items: items)
            for i in order[start..<end] {
                let item = items[i]
                sweep.advance(to: item.first, items: items)
                let offset = sweep.lowestFit(item, born: &born, budget: budget) ?? scanFit(i, among: placed, items)
                place(i, at: offset)
                sweep.add(i, items: items)
            }
        } else {
            for i in order[start..<end] {
                let item = items[i]
                let offset = alive.lowestFit(size: item.size, first: item.first, last: item.last, budget: budget)
                    ?? scanFit(i, among: placed, items)
                place(i, at: offset)
            }
        }
        start = end
    }
    return arena
}

/// Equal-size runs at least this long are swept (building the sweep costs one pass over the
/// placed buffers); the tree is dense, so arenas beyond `maxSweepUnits` units are not.
private let sweepThreshold = 64
private let maxSweepUnits = 1 << 20

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }

/// The defining scan for item `i`: placed buffers alive at the same time, by offset, up to the
/// first gap that holds it.
private func scanFit(_ i: Int, among placed: [Int], _ items: [PackItem]) -> Int {
    let conflicts = placed.filter { items[$0].first <= items[i].last && items[i].first <= items[$0].last }
        .sorted { items[$0].offset < items[$1].offset }
    var offset = 0
    for c in conflicts {
        if offset + items[i].size <= items[c].offset { break }
        offset = Swift.max(offset, items[c].offset + items[c].size)
    }
    return offset
}

/// The buffers alive at one moment of the schedule, for a run of equal-size buffers placed in
/// time order: placed buffers enter when they are born and leave after their last use.
private struct Sweep {
    private var free: FreeSpaceTree
    /// Buffers placed before the run, by birth, and how many of them have entered.
    private let births: [Int]
    private var entered = 0
    /// Buffers in `free`, keyed by last use (last · count + index), to leave in time order.
    private var deaths = MinHeap()
    private let count: Int
    /// Bytes per tree unit (every size and offset is a multiple).
    private let unit: Int

    init(units: Int, unit: Int, placed: [Int], items: [PackItem]) {
        free = FreeSpaceTree(units: units)
        self.unit = unit
        births = placed.sorted { items[$0].first < items[$1].first }
        count = items.count
    }

    /// Moves the sweep to `time`: buffers born by then enter, those dead before it leave.
    mutating func advance(to time: Int, items: [PackItem]) {
        while entered < births.count, items[births[entered]].first <= time {
            add(births[entered], items: items)
            entered += 1
        }
        while let next = deaths.min, next / count < time {
            _ = deaths.pop()
            let item = items[next % count]
            free.remove(item.offset / unit, (item.offset + item.size) / unit)
        }
    }

    /// A buffer just placed (born now) or born by the sweep's time enters.
    mutating func add(_ i: Int, items: [PackItem]) {
        let item = items[i]
        guard item.size > 0 else { return }
        free.add(item.offset / unit, (item.offset + item.size) / unit)
        deaths.push(item.last * count + i)
    }

    /// The lowest offset free now (in `free`) and clear of every buffer born later in the item's
    /// lifetime (in `born`): each search only raises the candidate to a lower bound of the
    /// answer, so the first candidate both accept is the answer. Nil past the budget.
    mutating func lowestFit(_ item: PackItem, born: inout ArenaOccupancy, budget: Int) -> Int? {
        var offset = 0
        for _ in 0..<budget {
            guard let free = free.lowestFree(from: offset / unit, length: item.size / unit) else { return nil }
            offset = free * unit
            guard item.first < item.last else { return offset }
            guard let clear = born.lowestFit(from: offset, size: item.size, first: item.first + 1, last: item.last,
                                             budget: budget) else { return nil }
            if clear == offset { return offset }
            offset = clear
        }
        return nil
    }
}
