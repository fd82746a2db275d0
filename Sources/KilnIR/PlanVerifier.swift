extension Verifier {
    /// Checks a memory plan against the schedule it claims to place: every placed value is an
    /// intermediate of this graph with its exact size inside the arena, and two values whose
    /// lifetimes (recomputed from the schedule) overlap never share bytes — unless one legally
    /// takes over the other's buffer: an elementwise kernel writing over an operand that dies
    /// there, or a reshape viewing its operand's bytes.
    func verifyPlan(_ plan: MemoryPlan, _ graph: Graph) throws {
        let escaping = Set(graph.outputs).union(graph.updates.map(\.value))
        var definedAt: [String: Int] = [:]
        var lastUse: [String: Int] = [:]
        var sizes: [String: Int] = [:]
        var nodeOf: [String: Node] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for operand in node.operands where definedAt[operand] != nil { lastUse[operand] = i }
            for (name, type) in node.resultTypes {
                definedAt[name] = i
                lastUse[name] = i
                sizes[name] = type?.byteCount
                nodeOf[name] = node
            }
        }
        func fail(_ message: String) -> Diagnostic { Diagnostic("memory plan of '\(graph.name)': \(message)") }
        let reshapes = Set(graph.nodes.filter { $0.op == .reshape }.map(\.name))
        var placed: [(name: String, start: Int, end: Int, offset: Int, size: Int)] = []
        for (name, a) in plan.allocations.sorted(by: { $0.key < $1.key }) {
            guard let first = definedAt[name], let last = lastUse[name] else { throw fail("'\(name)' is not a value this graph computes") }
            guard !escaping.contains(name) else { throw fail("'\(name)' outlives the step (output or update) but is placed in the arena") }
            guard let size = sizes[name], a.size == size else { throw fail("'\(name)' needs \(sizes[name] ?? 0) bytes, the plan gives \(a.size)") }
            guard a.offset >= 0, a.offset % MemoryPlan.alignment == 0, a.offset + a.size <= plan.arenaSize else {
                throw fail("'\(name)' at offset \(a.offset) (\(a.size) bytes) is outside the \(plan.arenaSize)-byte arena or misaligned")
            }
            if let victim = a.reuses {
                guard let node = nodeOf[name], node.operands.contains(victim),
                      let v = plan.allocations[victim], v.offset == a.offset,
                      node.op == .reshape || (node.isElementwiseKernel && lastUse[victim] == first) else {
                    throw fail("'\(name)' takes over the buffer of '\(victim)' where that is not legal")
                }
            }
            placed.append((name, first, last, a.offset, a.size))
        }
        // Sweep by definition over the values alive at each one, kept sorted by offset: a value
        // is checked against the alive values whose bytes can reach its own (found by binary
        // search, bounded by the largest size), not against the whole live set — a training
        // step keeps thousands of activations alive, and the pairwise sweep was quadratic.
        placed.sort { $0.start < $1.start }
        let byEnd = placed.indices.sorted { placed[$0].end < placed[$1].end }
        let largest = placed.map(\.size).max() ?? 0
        var alive: [Int] = []  // indices into `placed`, by (offset, index)
        func position(_ offset: Int, _ index: Int) -> Int {
            var (low, high) = (0, alive.count)
            while low < high {
                let mid = (low + high) / 2, other = placed[alive[mid]]
                if other.offset < offset || (other.offset == offset && alive[mid] < index) { low = mid + 1 } else { high = mid }
            }
            return low
        }
        var expired = 0
        for (index, value) in placed.enumerated() {
            while expired < byEnd.count, placed[byEnd[expired]].end < value.start {
                let gone = byEnd[expired]
                alive.remove(at: position(placed[gone].offset, gone))
                expired += 1
            }
            var k = position(value.offset + value.size, -1) - 1
            while k >= 0, placed[alive[k]].offset + largest > value.offset {
                let other = placed[alive[k]]
                k -= 1
                guard value.offset < other.offset + other.size else { continue }
                // Sharing is legal between values on one chain of takeovers: at a handover (the
                // older dies where the newer is born), or between read-only reshape views.
                let legal = sharesLegally(value.name, other.name, handover: other.end == value.start, plan, reshapes: reshapes)
                if !legal {
                    throw fail("'\(other.name)' and '\(value.name)' are alive at the same time but share bytes at offset \(Swift.max(other.offset, value.offset))")
                }
            }
            alive.insert(index, at: position(value.offset, index))
        }
    }

    /// `newer` and `older` overlap in the arena: legal if they descend (through `reuses`) from
    /// a common value, every link below it is a reshape view — or `older` is that value and
    /// `newer` takes it over at a handover.
    private func sharesLegally(_ newer: String, _ older: String, handover: Bool, _ plan: MemoryPlan, reshapes: Set<String>) -> Bool {
        func chain(_ name: String) -> [String] {
            var result = [name]
            while result.count <= plan.allocations.count, let next = plan.allocations[result[result.count - 1]]?.reuses { result.append(next) }
            return result
        }
        let (a, b) = (chain(newer), chain(older))
        guard let common = a.first(where: b.contains), let i = a.firstIndex(of: common), let j = b.firstIndex(of: common) else { return false }
        let viewsOnly = a[..<i].allSatisfy(reshapes.contains) && b[..<j].allSatisfy(reshapes.contains)
        return viewsOnly || (common == older && handover)
    }
}

extension Node {
    /// Reads and writes each element at the same index (an elementwise op, or a kernel fused
    /// from elementwise ops only): it may write over an operand that dies there.
    public var isElementwiseKernel: Bool {
        if let body = region { return body.allSatisfy { $0.op.fusionRole == .elementwise } }
        return op.fusionRole == .elementwise
    }
}
