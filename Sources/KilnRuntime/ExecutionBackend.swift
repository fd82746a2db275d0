import KilnIR

/// Something that executes one compiled graph: the interpreter, or the LLVM JIT.
/// Both take inputs by name, read and write persistent state (params and optimiser state)
/// through `state`, and return the graph's outputs by name.
public protocol ExecutionBackend: AnyObject {
    /// The graph this backend runs (after its passes).
    var graph: Graph { get }
    /// Runs the graph once; `step` feeds the random ops (dropout masks differ per step).
    func run(inputs: [String: Tensor], state: inout [String: Tensor], step: Int) throws -> [String: Tensor]
}
