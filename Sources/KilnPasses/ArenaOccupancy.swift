/// The buffers already placed in an arena, as rectangles of schedule time × bytes, answering the
/// memory planner's one question: the lowest offset where `size` bytes are free during
/// [first, last]. That offset is the one the planner's specification gives (scan the placed
/// buffers alive at the same time by offset, stop at the first gap that fits), found without
/// looking at every placed buffer.
///
/// A segment tree over schedule positions holds, per tree node, the union of the byte ranges
/// of buffers whose lifetime covers the node's whole time range (`cover`) and of buffers whose
/// lifetime decomposes into nodes of its subtree (`inside`). The buffers alive at some point
/// of [first, last] are exactly those in `inside` of the range's canonical nodes and in `cover`
/// of their ancestors: O(log n) unions. Long-lived values stacked on one another merge into one
/// range, so the search jumps over a whole stack at once; scanning them one by one was
/// quadratic on gradient graphs (5.6 s to plan 34,000 values).
struct ArenaOccupancy {
    private let leaves: Int
    private var cover: [ByteRanges]
    private var inside: [ByteRanges]
    /// Marks tree nodes already visited in one operation (ancestors are shared by several nodes).
    private var seen: [Int]
    private var stamp = 0

    init(scheduleLength: Int) {
        var leaves = 1
        while leaves < scheduleLength { leaves *= 2 }
        self.leaves = leaves
        cover = Array(repeating: ByteRanges(), count: 2 * leaves)
        inside = Array(repeating: ByteRanges(), count: 2 * leaves)
        seen = Array(repeating: 0, count: 2 * leaves)
    }

    /// The lowest offset at which [offset, offset + size) meets no buffer alive during [first, last].
    /// Walks the ranges of all relevant unions in address order (a k-way merge), pushing the
    /// candidate past each range it meets and stopping at the first range that starts above the
    /// candidate's end: the planner's scan, over merged ranges instead of single buffers.
    /// Gives up (nil) after `budget` ranges: when the live values are scattered over many unions
    /// (no long runs merge), the caller's plain scan over the placed buffers is cheaper.
    mutating func lowestFit(size: Int, first: Int, last: Int, budget: Int) -> Int? {
        lowestFit(from: 0, size: size, first: first, last: last, budget: budget)
    }

    /// The same search starting at `start`: the lowest offset at or above it that fits.
    mutating func lowestFit(from start: Int, size: Int, first: Int, last: Int, budget: Int) -> Int? {
        let tree = canonicalNodes(first, last)
        var unions = tree.compactMap { inside[$0].isEmpty ? nil : inside[$0] }
        stamp += 1
        for node in tree {
            var ancestor = node / 2
            while ancestor >= 1, seen[ancestor] != stamp {
                seen[ancestor] = stamp
                if !cover[ancestor].isEmpty { unions.append(cover[ancestor]) }
                ancestor /= 2
            }
        }
        var offset = start
        // One entry per union: the start of its next range and its cursor.
        var cursors = unions.map { $0.firstRange(endingAfter: start) }
        var queue = MinHeap()
        for u in unions.indices where cursors[u] < unions[u].count { queue.push(unions[u].start(at: cursors[u]) * unions.count + u) }
        var steps = 0
        while let top = queue.pop() {
            steps += 1
            if steps > budget { return nil }
            let u = top % unions.count
            var cursor = cursors[u]
            if unions[u].end(at: cursor) <= offset {
                // Passed while this entry waited: skip to the union's first range beyond `offset`.
                cursor = unions[u].firstRange(endingAfter: offset)
                cursors[u] = cursor
                if cursor < unions[u].count { queue.push(unions[u].start(at: cursor) * unions.count + u) }
                continue
            }
            // Every range still queued starts at or above this one: the gap below it fits.
            if offset + size <= unions[u].start(at: cursor) { break }
            offset = unions[u].end(at: cursor)
            cursor = unions[u].firstRange(endingAfter: offset)
            cursors[u] = cursor
            if cursor < unions[u].count { queue.push(unions[u].start(at: cursor) * unions.count + u) }
        }
        return offset
    }

    mutating func insert(offset: Int, size: Int, first: Int, last: Int) {
        // An empty buffer meets nothing.
        guard size > 0 else { return }
        stamp += 1
        for node in canonicalNodes(first, last) {
            cover[node].insert(offset, offset + size)
            var ancestor = node
            while ancestor >= 1, seen[ancestor] != stamp {
                seen[ancestor] = stamp
                inside[ancestor].insert(offset, offset + size)
                ancestor /= 2
            }
        }
    }

    /// The tree nodes whose time ranges tile [first, last] (at most two per level).
    private func canonicalNodes(_ first: Int, _ last: Int) -> [Int] {
        var nodes: [Int] = []
        var low = first + leaves, high = last + leaves + 1
        while low < high {
            if low & 1 == 1 { nodes.append(low); low += 1 }
            if high & 1 == 1 { high -= 1; nodes.append(high) }
            low /= 2
            high /= 2
        }
        return nodes
    }
}

/// A union of byte ranges [start, end), kept merged (touching ranges join) and sorted.
struct ByteRanges {
    private var starts: [Int] = []
    private var ends: [Int] = []

    var isEmpty: Bool { starts.isEmpty }

    mutating func insert(_ start: Int, _ end: Int) {
        // Ranges from `low` up to `high` touch or overlap [start, end) and merge with it.
        let low = firstIndex(ends) { $0 >= start }
        let high = firstIndex(starts) { $0 > end }
        guard low < high else {
            starts.insert(start, at: low)
            ends.insert(end, at: low)
            return
        }
        let merged = (Swift.min(start, starts[low]), Swift.max(end, ends[high - 1]))
        starts.replaceSubrange(low..<high, with: [merged.0])
        ends.replaceSubrange(low..<high, with: [merged.1])
    }

    var count: Int { starts.count }
    func start(at index: Int) -> Int { starts[index] }
    func end(at index: Int) -> Int { ends[index] }

    /// The index of the first range ending after `offset` (ranges are disjoint and sorted, so
    /// ends ascend too), or `count`.
    func firstRange(endingAfter offset: Int) -> Int { firstIndex(ends) { $0 > offset } }

    /// Binary search: the first index whose element satisfies `isAtOrAfter` (false, then true).
    private func firstIndex(_ sorted: [Int], where isAtOrAfter: (Int) -> Bool) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if isAtOrAfter(sorted[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
