@testable import KilnPasses
import Testing

/// The arena packer's fast searches (sweep, merged ranges, budgets) must give exactly the offsets
/// of the scan that defines greedy-by-size packing, which the planner used until it was made
/// near-linear. Random lifetimes, stacks of nested lifetimes (gradient graphs) and interleaved
/// families of equal-size buffers exercise every path and every fallback.
struct ArenaPackingTests {
    /// The definition: largest first (ties: earliest first), each at the lowest offset clear of
    /// every placed buffer alive at the same time, scanning them by offset.
    private func reference(_ items: [PackItem]) -> [Int] {
        let order = items.indices.sorted { items[$0].size != items[$1].size ? items[$0].size > items[$1].size : items[$0].first < items[$1].first }
        var offsets = [Int](repeating: 0, count: items.count)
        var placed: [Int] = []
        for s in order {
            let conflicts = placed.filter { items[$0].first <= items[s].last && items[s].first <= items[$0].last }
                .sorted { offsets[$0] < offsets[$1] }
            var offset = 0
            for c in conflicts {
                if offset + items[s].size <= offsets[c] { break }
                offset = max(offset, offsets[c] + items[c].size)
            }
            offsets[s] = offset
            placed.append(s)
        }
        return offsets
    }

    /// A small deterministic generator (xorshift), so a failure reproduces.
    private struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    private func check(_ items: [PackItem], _ label: String) {
        var packed = items
        let arena = packArena(&packed)
        let expected = reference(items)
        #expect(packed.map(\.offset) == expected, "\(label)")
        #expect(arena == zip(items, expected).map { $0.size + $1 }.max() ?? 0, "\(label)")
    }

    @Test("random lifetimes and sizes: same offsets as the defining scan")
    func randomLifetimes() {
        var random = Random(state: 0x9E3779B97F4A7C15)
        for round in 0..<40 {
            let count = 20 + random.next(400)
            let length = 10 + random.next(300)
            let sizes = (0..<(1 + random.next(4))).map { _ in 64 * (1 + random.next(40)) }
            let items = (0..<count).map { _ -> PackItem in
                let first = random.next(length)
                let span = random.next(4) == 0 ? random.next(length) : random.next(8)
                return PackItem(size: sizes[random.next(sizes.count)], first: first, last: min(length - 1, first + span))
            }
            check(items, "round \(round)")
        }
    }

    @Test("nested and interleaved lifetimes (a chain's gradient): same offsets as the defining scan")
    func gradientShapes() {
        var random = Random(state: 12345)
        for round in 0..<12 {
            let n = 200 + random.next(300)
            var items: [PackItem] = []
            for i in 0..<n {
                // Forward values: one family dies mirror-wise in the backward pass, one at the end.
                items.append(PackItem(size: 2048, first: i, last: i % 2 == 0 ? 2 * n - i : 2 * n + 5))
                // Backward temporaries and small gradient contributions kept to the end.
                items.append(PackItem(size: 2048, first: 2 * n - i, last: 2 * n - i + random.next(3)))
                if random.next(3) == 0 { items.append(PackItem(size: 128, first: 2 * n - i, last: 2 * n + 6)) }
                if random.next(5) == 0 { items.append(PackItem(size: 64 * (1 + random.next(3)), first: i, last: i + random.next(n))) }
            }
            items.append(PackItem(size: 0, first: 0, last: 2 * n))
            check(items, "round \(round)")
        }
    }
}
