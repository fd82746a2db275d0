import KilnIR
// Every backend's API is in `Tensor`s, so `import KilnRuntime` keeps bringing them (and their
// files and the RNG) as it did before they moved below the runtime.
@_exported import KilnTensor

/// Something that executes one compiled graph: the interpreter, or the LLVM JIT.
/// Both take inputs by name, read and write persistent state (params and optimiser state)
/// through `state`, and return the graph's outputs by name.
public protocol ExecutionBackend: AnyObject {
    /// The graph this backend runs (after its passes).
    var graph: Graph { get }
    /// Runs the graph once; `step` feeds the random ops (dropout masks differ per step).
    func run(inputs: [String: Tensor], state: inout [String: Tensor], step: Int) throws -> [String: Tensor]
}
