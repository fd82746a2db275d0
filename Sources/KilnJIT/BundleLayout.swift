import KilnIR

/// Where a bundle keeps each buffer the step program's table points at, and what its C API
/// lists: the same slots as `StepCompiler` numbers them, each an input, a param (its weights at
/// an offset of the weights blob), a place in the memory plan's arena, a buffer of its own (a
/// value that outlives the step: an output, a param's update) or a kernel's scratch buffer —
/// the choices `JITBackend` makes at run time, made once.
struct BundleLayout {
    enum Slot: Equatable {
        case input(Int), param(Int), arena(offset: Int), owned(bytes: Int), scratch(bytes: Int)
    }

    /// A tensor the C API names: its dtype (0 f32, 1 i32), dims, bytes and table slot.
    struct Tensor {
        var name: String
        var dtype: Int
        var dims: [Int]
        var bytes: Int
        var slot: Int
    }

    let name: String
    let graphName: String
    let slots: [Slot]
    let inputs: [Tensor]
    let params: [Tensor]
    /// Trainable (`param`) or not (`state`: optimiser moments, counters, running statistics).
    let trainable: [Bool]
    let outputs: [Tensor]
    /// After a step, param `param` takes the value in slot `slot`.
    let updates: [(param: Int, slot: Int)]
    /// Each failure a kernel can report: message template ({0}, {1}: the reported values), located.
    let failures: [String]
    let arenaBytes: Int
    let argumentCount: Int
    /// Each param's offset in the weights blob (64-byte aligned), and the blob's size.
    let weightOffsets: [Int]
    let weightBytes: Int
    let embedWeights: Bool
    /// Inputs given a value at creation (index, value).
    let defaults: [(input: Int, value: Float)]

    init(graph: Graph, plan: MemoryPlan, compiler: StepCompiler, options: BundleOptions) {
        name = options.name
        graphName = graph.name
        embedWeights = options.embedWeights
        let types = graph.valueTypes
        var slots = [Slot](repeating: .owned(bytes: 4), count: compiler.slots.count)
        let scratch = Dictionary(compiler.scratch.map { ($0.slot, $0.count) }, uniquingKeysWith: { a, _ in a })
        let inputIndex = Dictionary(graph.inputs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let paramIndex = Dictionary(graph.params.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (value, slot) in compiler.slots where slot < slots.count {
            if let i = inputIndex[value] {
                slots[slot] = .input(i)
            } else if let i = paramIndex[value] {
                slots[slot] = .param(i)
            } else if let count = scratch[slot] {
                slots[slot] = .scratch(bytes: 4 * count)
            } else if let allocation = plan.allocations[value] {
                slots[slot] = .arena(offset: allocation.offset)
            } else {
                slots[slot] = .owned(bytes: Swift.max(types[value]?.byteCount ?? 4, 4))
            }
        }
        self.slots = slots
        func tensor(_ name: String, _ type: TensorType) -> Tensor {
            Tensor(name: name, dtype: type.dtype == .f32 ? 0 : 1, dims: type.shape.dims, bytes: type.byteCount, slot: compiler.slots[name] ?? 0)
        }
        inputs = graph.inputs.map { tensor($0.name, $0.type) }
        params = graph.params.map { tensor($0.name, $0.type) }
        trainable = graph.params.map { $0.role == .param }
        outputs = graph.outputs.map { tensor($0, types[$0] ?? TensorType(.f32, .scalar)) }
        updates = graph.updates.compactMap { update in
            guard let p = paramIndex[update.target], let slot = compiler.slots[update.value], case .owned = slots[slot] else { return nil }
            return (p, slot)
        }
        failures = compiler.failures.map { failure in failure.location.map { "\($0): \(failure.message)" } ?? failure.message }
        arenaBytes = plan.arenaSize
        argumentCount = StepProgram.argumentCount(compiler)
        var offsets: [Int] = [], end = 0
        for param in params {
            let start = (end + 63) / 64 * 64
            offsets.append(start)
            end = start + param.bytes
        }
        weightOffsets = offsets
        weightBytes = end
        defaults = options.defaults.sorted { $0.key < $1.key }.compactMap { name, value in inputIndex[name].map { ($0, value) } }
    }

    var trains: Bool { !updates.isEmpty }
}
