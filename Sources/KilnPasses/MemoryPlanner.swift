import KilnIR

/// Plans the memory of a scheduled graph: liveness interval of every intermediate value,
/// in-place reuse where an elementwise kernel's operand dies at it, then one arena packed
/// greedily by size (largest first, lowest fitting offset), 64-byte aligned. Inputs, params,
/// state, outputs and update values stay outside the arena.
public struct MemoryPlanner: Pass {
    public let name = "plan-memory"
    /// Share memory between values whose lifetimes do not overlap (off: every value its own slot).
    public var reuse: Bool
    /// Let elementwise kernels overwrite an operand that dies there.
    public var inPlace: Bool

    public init(reuse: Bool = true, inPlace: Bool = true) {
        self.reuse = reuse
        self.inPlace = inPlace
    }

    public func run(_ graph: Graph) throws -> Graph {
        var result = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        result.memoryPlan = plan(result)
        return result
    }

    /// A buffer of the arena: one value, or a value and the values that overwrite it in place.
    private struct Slot {
        var values: [String]
        var size: Int
        var first: Int
        var last: Int
        var offset = 0
    }

    public func plan(_ graph: Graph) -> MemoryPlan {
        let escaping = Set(graph.outputs).union(graph.updates.map(\.value))
        var definedAt: [String: Int] = [:]
        var types: [String: TensorType] = [:]
        var lastUse: [String: Int] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for (name, type) in node.resultTypes where !escaping.contains(name) {
                guard let type else { continue }
                definedAt[name] = i
                types[name] = type
                lastUse[name] = i
            }
            for operand in node.operands where definedAt[operand] != nil { lastUse[operand] = i }
        }

        // Slots in definition order; in-place results join the slot of the operand they overwrite.
        var slots: [Slot] = []
        var slotOf: [String: Int] = [:]
        var reuses: [String: String] = [:]
        for (i, node) in graph.nodes.enumerated() {
            var taken = Set<String>()
            for name in node.resultNames {
                guard let type = types[name] else { continue }
                // A reshape of an arena value is a view of the same bytes: it extends that slot.
                if reuse, node.op == .reshape, let source = node.operands.first, let s = slotOf[source] {
                    reuses[name] = source
                    slots[s].values.append(name)
                    slots[s].last = Swift.max(slots[s].last, lastUse[name] ?? i)
                    slotOf[name] = s
                    continue
                }
                if inPlace, reuse, node.isElementwiseKernel,
                   let victim = node.operands.first(where: { operand in
                       !taken.contains(operand) && lastUse[operand] == i && types[operand] == type
                           && slotOf[operand].map { slots[$0].last == i } == true
                   }), let s = slotOf[victim] {
                    taken.insert(victim)
                    reuses[name] = victim
                    slots[s].values.append(name)
                    slots[s].last = lastUse[name] ?? i
                    slotOf[name] = s
                    continue
                }
                slotOf[name] = slots.count
                slots.append(Slot(values: [name], size: align(type.byteCount), first: i, last: lastUse[name] ?? i))
            }
        }

        let naive = types.values.reduce(0) { $0 + align($1.byteCount) }
        var arena = 0
        if reuse {
            arena = pack(&slots)
        } else {
            for s in slots.indices {
                slots[s].offset = arena
                arena += slots[s].size
            }
        }
        var allocations: [String: MemoryPlan.Allocation] = [:]
        for slot in slots {
            for value in slot.values {
                allocations[value] = MemoryPlan.Allocation(
                    offset: slot.offset, size: types[value]?.byteCount ?? 0,
                    firstUse: definedAt[value] ?? slot.first, lastUse: lastUse[value] ?? slot.last, reuses: reuses[value])
            }
        }
        return MemoryPlan(allocations: allocations, arenaSize: arena, naiveSize: naive)
    }

    /// Greedy by size (`packArena`): the largest slots first, each at the lowest offset that does
    /// not overlap a placed slot alive at the same time. Returns the arena size.
    private func pack(_ slots: inout [Slot]) -> Int {
        var items = slots.map { PackItem(size: $0.size, first: $0.first, last: $0.last) }
        let arena = packArena(&items)
        for s in slots.indices { slots[s].offset = items[s].offset }
        return arena
    }

    private func align(_ bytes: Int) -> Int {
        (bytes + MemoryPlan.alignment - 1) / MemoryPlan.alignment * MemoryPlan.alignment
    }
}

