/// Which units of an address range are in use, as coverage counts in a segment tree: ranges are
/// added and removed in O(log U), and the lowest free run of a given length at or above an
/// address is found in O(log U). The arena packer keeps the buffers alive at one moment of the
/// schedule here (units of `MemoryPlan.alignment` bytes), so the buffers stacked below the
/// answer cost nothing to pass, however they are interleaved.
struct FreeSpaceTree {
    /// Leaves (a power of two); those at or above `units` are covered for good.
    private let leaves: Int
    private var count: [Int32]
    /// Free units at the start and end of each node's range, and the longest free run inside.
    private var prefix: [Int32]
    private var suffix: [Int32]
    private var longest: [Int32]

    init(units: Int) {
        var leaves = 1
        while leaves < units { leaves *= 2 }
        self.leaves = leaves
        count = Array(repeating: 0, count: 2 * leaves)
        prefix = Array(repeating: 0, count: 2 * leaves)
        suffix = prefix
        longest = prefix
        for leaf in 0..<leaves {
            if leaf < units { prefix[leaves + leaf] = 1 } else { count[leaves + leaf] = 1 }
            suffix[leaves + leaf] = prefix[leaves + leaf]
            longest[leaves + leaf] = prefix[leaves + leaf]
        }
        var first = leaves / 2, width = 2
        while first >= 1 {
            for node in first..<(2 * first) { pull(node, width: width) }
            first /= 2
            width *= 2
        }
    }

    mutating func add(_ start: Int, _ end: Int) { update(start, end, by: 1, node: 1, low: 0, high: leaves) }
    mutating func remove(_ start: Int, _ end: Int) { update(start, end, by: -1, node: 1, low: 0, high: leaves) }

    /// The lowest unit `u >= from` such that [u, u + length) is free, or nil.
    mutating func lowestFree(from: Int, length: Int) -> Int? {
        // Units below `from` are taken out of the search by covering them for the duration.
        if from > 0 { add(0, from) }
        defer { if from > 0 { remove(0, from) } }
        guard Int(longest[1]) >= length else { return nil }
        var node = 1, low = 0, width = leaves
        while node < leaves {
            let half = width / 2, left = 2 * node, right = left + 1
            if Int(longest[left]) >= length {
                node = left
            } else if Int(suffix[left]) + Int(prefix[right]) >= length {
                return low + half - Int(suffix[left])
            } else {
                node = right
                low += half
            }
            width = half
        }
        return low
    }

    private mutating func update(_ start: Int, _ end: Int, by delta: Int32, node: Int, low: Int, high: Int) {
        guard start < high, low < end else { return }
        if start <= low && high <= end {
            count[node] += delta
        } else {
            let mid = (low + high) / 2
            update(start, end, by: delta, node: 2 * node, low: low, high: mid)
            update(start, end, by: delta, node: 2 * node + 1, low: mid, high: high)
        }
        pull(node, width: high - low)
    }

    /// Recomputes a node's free runs from its own count and its children.
    private mutating func pull(_ node: Int, width: Int) {
        if count[node] > 0 {
            prefix[node] = 0
            suffix[node] = 0
            longest[node] = 0
        } else if node >= leaves {
            prefix[node] = 1
            suffix[node] = 1
            longest[node] = 1
        } else {
            let left = 2 * node, right = left + 1, half = Int32(width / 2)
            prefix[node] = prefix[left] == half ? half + prefix[right] : prefix[left]
            suffix[node] = suffix[right] == half ? half + suffix[left] : suffix[right]
            longest[node] = Swift.max(longest[left], longest[right], suffix[left] + prefix[right])
        }
    }
}
