import KilnIR

/// A graph compiled for the interpreter: values numbered into slots, each node's operand and
/// result slots resolved, and the slots that die after each node listed, so a run does no
/// name lookups and frees every intermediate as soon as it is dead.
struct Program {
    struct Instruction {
        let node: Node
        let operands: [Int]
        let results: [(String, TensorType)]
        let resultSlots: [Int]
        /// Slots last used here (freed after the node runs).
        let frees: [Int]
        /// Results that outlive the run (outputs, state updates): not counted as intermediates.
        let escaping: Set<String>
        let body: KernelBody?
        /// An elementwise node's loops, compiled once for its operand types.
        let elementwise: ElementwiseProgram?
    }

    let slot: [String: Int]
    let slotCount: Int
    let instructions: [Instruction]

    init(_ graph: Graph) {
        var slot: [String: Int] = [:]
        for name in graph.inputs.map(\.name) + graph.params.map(\.name) { slot[name] = slot.count }
        for node in graph.nodes { for name in node.resultNames { slot[name] = slot.count } }
        var lastUse: [String: Int] = [:]
        for (i, node) in graph.nodes.enumerated() { for operand in node.operands { lastUse[operand] = i } }
        let escaping = Set(graph.outputs).union(graph.updates.map(\.value))
        let persistent = Set(graph.inputs.map(\.name) + graph.params.map(\.name))
        let types = graph.valueTypes

        var instructions: [Instruction] = []
        for (i, node) in graph.nodes.enumerated() {
            let results = node.resultTypes.map { ($0.0, $0.1 ?? TensorType(.f32, .scalar)) }
            var frees: [Int] = []
            for operand in Set(node.operands) where lastUse[operand] == i && !escaping.contains(operand) && !persistent.contains(operand) {
                if let s = slot[operand] { frees.append(s) }
            }
            // A result nobody reads dies at once.
            for (name, _) in results where lastUse[name] == nil && !escaping.contains(name) {
                if let s = slot[name] { frees.append(s) }
            }
            instructions.append(Instruction(
                node: node, operands: node.operands.compactMap { slot[$0] }, results: results,
                resultSlots: results.compactMap { slot[$0.0] }, frees: frees, escaping: escaping,
                body: node.region.map { KernelBody(kernel: node, body: $0, operandTypes: node.operands.map { types[$0] }) },
                elementwise: ElementwiseProgram(node, operandTypes: node.operands.map { types[$0] })))
        }
        self.slot = slot
        slotCount = slot.count
        self.instructions = instructions
    }
}

/// A fused kernel's body, run op by op on temporaries; its results are then written to the
/// kernel's result buffers (which may be arena slots shared with a dying operand).
struct KernelBody {
    let nodes: [Node]
    let operandSlots: [[Int]]
    let types: [TensorType]
    let resultIndices: [Int]
    let localCount: Int

    /// Each body node's elementwise loops, compiled once (nil for the others).
    let elementwise: [ElementwiseProgram?]

    /// `operandTypes`: the kernel's operands' types (nil where unknown: those nodes compile when run).
    init(kernel: Node, body: [Node], operandTypes: [TensorType?]) {
        var local: [String: Int] = [:]
        for operand in kernel.operands where local[operand] == nil { local[operand] = local.count }
        let operandCount = local.count
        for node in body { local[node.name] = local.count }
        nodes = body
        operandSlots = body.map { $0.operands.compactMap { local[$0] } }
        types = body.map { $0.type ?? TensorType(.f32, .scalar) }
        resultIndices = kernel.resultNames.compactMap { name in body.firstIndex { $0.name == name } }
        localCount = local.count
        kernelOperandLocal = kernel.operands.map { local[$0] ?? 0 }
        bodyBase = operandCount
        var known = Dictionary(zip(kernel.operands, operandTypes), uniquingKeysWith: { a, _ in a })
        for node in body { known[node.name] = node.type }
        elementwise = body.map { node in ElementwiseProgram(node, operandTypes: node.operands.map { known[$0] ?? nil }) }
    }

    private let kernelOperandLocal: [Int]
    private let bodyBase: Int

    /// `hook` sees each body op's result (the interpreter's test hook).
    func run(_ operands: [Tensor], into results: [Tensor], step: Int, hook: ((Node, Tensor) -> Void)? = nil) throws {
        var values = [Tensor?](repeating: nil, count: localCount)
        for (i, tensor) in operands.enumerated() { values[kernelOperandLocal[i]] = tensor }
        for (i, node) in nodes.enumerated() {
            let inputs = operandSlots[i].compactMap { values[$0] }
            let out = Tensor(uninitialized: types[i])
            try Kernels.execute(node, inputs, into: out, step: step, elementwise: elementwise[i])
            hook?(node, out)
            values[bodyBase + i] = out
        }
        for (result, index) in zip(results, resultIndices) {
            if let value = values[bodyBase + index] { LayoutKernels.copy(value, into: result) }
        }
    }
}
