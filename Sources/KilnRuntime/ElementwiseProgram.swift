import KilnIR
import KilnTensor

/// An elementwise op as the interpreter runs it: the op's one definition
/// (`KilnIR.ElementwiseMeaning`), evaluated over `Lane`s into a dataflow graph of primitives,
/// ordered once per node into a list of loops (`ElementwiseLoops`), then run chunk by chunk
/// over the elements: every primitive is one tight loop over up to `chunk` elements held in
/// cache, the operands are read in place (broadcasting as `BroadcastPlan` walks them) and the
/// last loop writes the result tensor directly. The loops are plain data (`LaneStep`), and a
/// run walks its chunks through unsafe pointers only (`ChunkWalk`), so no reference is counted
/// per chunk. A class: instructions hold it and hand it to
/// every run, one reference rather than its arrays' several. Immutable once built, so runs on
/// several threads may share it (each run's scratch is its own).
final class ElementwiseProgram: @unchecked Sendable {
    /// Elements per chunk: a lane's chunk is 2 KB, so even erf's ~40 lanes stay in L2.
    static let chunk = 512

    /// Computes elementwise `node` from its operand tensors into the preallocated `out`,
    /// compiling it for this call (`Program` compiles each node once instead).
    static func run(_ node: Node, _ x: [Tensor], into out: Tensor, step: Int) throws {
        guard let program = ElementwiseProgram(node, operandTypes: x.map(\.dtype)) else {
            throw Diagnostic("internal: '\(node.name)' (\(node.op.name)) has no elementwise meaning")
        }
        program.run(x, into: out, step: step)
    }

    /// The operand element types the loops were compiled for.
    let operandTypes: [DType]

    /// Whether the loops were compiled for operands of `x`'s element types.
    func compiled(for x: [Tensor]) -> Bool {
        guard x.count == operandTypes.count else { return false }
        for k in x.indices where x[k].dtype != operandTypes[k] { return false }
        return true
    }

    /// `node` compiled for operands of `types`; nil when one is unknown or the op is not elementwise.
    convenience init?(_ node: Node, operandTypes types: [TensorType?]) {
        let dtypes = types.compactMap { $0?.dtype }
        guard dtypes.count == types.count else { return nil }
        self.init(node, operandTypes: dtypes)
    }

    /// The loops in dependency order, each with the slot it writes: plain data, run by a switch.
    private var steps: ContiguousArray<LaneStep> = []
    /// Slot 0 is the result chunk (in `out`); every other slot owns a chunk of scratch.
    private var slotCount = 1
    /// Per operand, its slot (nil when the definition does not read it).
    private var operandSlots: [Int?]
    /// Constants, filled once into their slots' chunks: (slot, 32-bit pattern).
    private var constants: [(Int, UInt32)] = []

    /// `node` compiled for operands of `operandTypes`; nil when the op is not computed element by element.
    init?(_ node: Node, operandTypes: [DType]) {
        let operands = operandTypes.enumerated().map { Lane.operand($0.offset, $0.element) }
        guard let root = ElementwiseMeaning.value(of: node, operands, types: operandTypes, at: Lane.Walk()) else { return nil }
        self.operandTypes = operandTypes
        operandSlots = Array(repeating: nil, count: operandTypes.count)
        var slots: [ObjectIdentifier: Int] = [:]
        var uses: [ObjectIdentifier: Int] = [:]
        func count(_ lane: Lane) {
            uses[ObjectIdentifier(lane), default: 0] += 1
            if uses[ObjectIdentifier(lane)] == 1 { lane.inputs.forEach(count) }
        }
        count(root)
        // Depth-first, inputs before users: each lane (by identity) gets one slot and one loop.
        func visit(_ lane: Lane, isRoot: Bool) -> Int {
            if let slot = slots[ObjectIdentifier(lane)] { return slot }
            // A choice on a comparison nothing else reads (relu, the flags, sign, dropout …):
            // one loop compares and chooses, with no truth-value chunk between them.
            if case .choose(let condition, let a, let b) = lane.kind, case .test(let c, let l, let r) = condition.kind,
               uses[ObjectIdentifier(condition)] == 1 {
                let inputs = [l, r, a, b].map { visit($0, isRoot: false) }
                let slot = isRoot ? 0 : fresh()
                steps.append(ElementwiseChoice.step(c, isFloat: l.element == .f32, into: slot, from: inputs,
                                                    constants: [l, r, a, b].map(\.constantBits)))
                slots[ObjectIdentifier(lane)] = slot
                return slot
            }
            let inputs = lane.inputs.map { visit($0, isRoot: false) }
            let slot: Int
            switch lane.kind {
            case .operand(let k):
                slot = fresh()
                operandSlots[k] = slot
            case .float(let v):
                slot = fresh()
                constants.append((slot, v.bitPattern))
            case .int(let v):
                slot = fresh()
                constants.append((slot, UInt32(bitPattern: v)))
            case .function, .operation, .test, .both, .either, .choose, .convert, .random, .coordinate:
                slot = isRoot ? 0 : fresh()
                if let loop = ElementwiseLoops.step(lane, into: slot, from: inputs) { steps.append(loop) }
            }
            slots[ObjectIdentifier(lane)] = slot
            return slot
        }
        let result = visit(root, isRoot: true)
        if result != 0 {
            // The op is an operand or a constant (stop_gradient, broadcast_to, constant): copy it out.
            steps.append(.copy(o: 0, a: result))
        }
    }

    private func fresh() -> Int {
        slotCount += 1
        return slotCount - 1
    }

    /// Runs the loops over `x` (of `operandTypes`) into `out`, drawing random numbers of `step`.
    func run(_ x: [Tensor], into out: Tensor, step: Int) {
        let n = out.elementCount
        guard n > 0 else { return }
        // Chunks no longer than the op: a small op's scratch is small, on the stack, and its
        // constants are filled for its own elements only.
        let chunk = Swift.min(Self.chunk, n)
        let operandCount = Swift.max(x.count, 1)
        withUnsafeTemporaryAllocation(byteCount: slotCount * chunk * 4, alignment: 64) { scratch in
            withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: slotCount + 2 * operandCount) { pointers in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * operandCount) { integers in
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: operandCount) { filled in
                        guard let base = scratch.baseAddress, let pointers = pointers.baseAddress, let integers = integers.baseAddress,
                              let filled = filled.baseAddress else { return }
                        let slots = pointers, sources = pointers + slotCount, bases = pointers + slotCount + operandCount
                        for s in 0..<slotCount { slots[s] = base + s * chunk * 4 }
                        for (slot, bits) in constants { slots[slot].initializeMemory(as: UInt32.self, repeating: bits, count: chunk) }
                        // No operand's value is repeated in its chunk yet (a 32-bit pattern never equals this).
                        filled.initialize(repeating: .max, count: operandCount)
                        let strides = integers, slotOf = integers + operandCount
                        for k in 0..<operandCount { slotOf[k] = k < operandSlots.count ? operandSlots[k] ?? -1 : -1 }
                        steps.withUnsafeBufferPointer { steps in
                            let walk = ChunkWalk(steps: steps, slots: slots, operandCount: x.count, slotOf: slotOf, sources: sources,
                                                 strides: strides, filled: filled, scratch: base, chunk: chunk,
                                                 out: out.storage.pointer, step: step)
                            self.walk(x, into: out, walk, bases: bases)
                        }
                    }
                }
            }
        }
    }

    /// Runs the loops chunk by chunk over `out`'s elements: flat when no operand is broadcast
    /// along a row, row by row (`BroadcastPlan`) when rows are long, else over copies of the
    /// broadcast operands. `bases` is room for one pointer per operand.
    private func walk(_ x: [Tensor], into out: Tensor, _ walk: ChunkWalk, bases: UnsafeMutablePointer<UnsafeMutableRawPointer>) {
        let n = out.elementCount
        // Same element count as the result: no broadcast (only leading 1s can differ).
        if x.allSatisfy({ $0.elementCount == n || $0.elementCount == 1 }) {
            for k in x.indices {
                walk.sources[k] = x[k].storage.pointer
                walk.strides[k] = x[k].elementCount == n ? 1 : 0
            }
            walk.row(start: 0, length: n)
            return
        }
        let plan = BroadcastPlan(output: out.shape, operands: x.map(\.shape))
        if plan.rowLength >= 32 {
            for k in x.indices { bases[k] = x[k].storage.pointer }
            plan.forEachRow { start, offsets, inner in
                for k in x.indices {
                    walk.sources[k] = bases[k] + offsets[k] * 4
                    walk.strides[k] = inner[k]
                }
                walk.row(start: start, length: plan.rowLength)
            }
            return
        }
        // Short rows: broadcast the operands that need it once, then walk everything flat.
        let flat = x.map { t -> Tensor in
            if t.elementCount == n || t.elementCount == 1 { return t }
            let copy = Tensor(uninitialized: TensorType(t.dtype, out.shape))
            broadcastCopy(t, into: copy)
            return copy
        }
        for k in flat.indices {
            walk.sources[k] = flat[k].storage.pointer
            walk.strides[k] = flat[k].elementCount == n ? 1 : 0
        }
        withExtendedLifetime(flat) { walk.row(start: 0, length: n) }
    }
}

/// One run's walk over chunks, as plain pointers and numbers: running a row of chunks reads no
/// array and calls no closure, so it touches no reference count.
private struct ChunkWalk {
    let steps: UnsafeBufferPointer<LaneStep>
    let slots: LaneSlots
    let operandCount: Int
    /// Per operand, the slot it is read through (−1: the definition does not read it).
    let slotOf: UnsafeMutablePointer<Int>
    /// Per operand, where the current row starts, and its stride there: 1, or 0 (one value repeated).
    let sources: UnsafeMutablePointer<UnsafeMutableRawPointer>
    let strides: UnsafeMutablePointer<Int>
    /// Per operand, the 32-bit pattern its scratch chunk repeats (or `.max`: none yet).
    let filled: UnsafeMutablePointer<UInt64>
    let scratch: UnsafeMutableRawPointer
    let chunk: Int
    let out: UnsafeMutableRawPointer
    let step: Int

    /// Runs the loops over `length` elements from flat output index `start`, the operands read
    /// from `sources` with `strides`.
    func row(start: Int, length: Int) {
        var j = 0
        while j < length {
            let count = Swift.min(chunk, length - j)
            for k in 0..<operandCount {
                let slot = slotOf[k]
                guard slot >= 0 else { continue }
                if strides[k] == 1 {
                    slots[slot] = sources[k] + j * 4
                } else {
                    let own = scratch + slot * chunk * 4, bits = sources[k].load(as: UInt32.self)
                    if filled[k] != UInt64(bits) {
                        own.initializeMemory(as: UInt32.self, repeating: bits, count: chunk)
                        filled[k] = UInt64(bits)
                    }
                    slots[slot] = own
                }
            }
            slots[0] = out + (start + j) * 4
            for s in 0..<steps.count { ElementwiseLoops.run(steps[s], slots, start: start + j, count: count, runStep: step) }
            j += count
        }
    }
}
