import KilnIR
import KilnJIT
import KilnRuntime

/// Which engine runs a graph: the interpreter (the reference, OpenBLAS for matrix products)
/// or the JIT (every op compiled to machine code through LLVM). Both compute the same
/// function; `kiln compare` measures how closely.
public enum BackendKind: String, Sendable, CaseIterable {
    case interpreter = "interp"
    case jit

    /// A backend of this kind for `graph`; `usePlan` runs the interpreter on the graph's memory
    /// plan (the JIT always uses it when present).
    public func makeBackend(for graph: Graph, usePlan: Bool = true) throws -> ExecutionBackend {
        switch self {
        case .interpreter: return try Interpreter(graph: graph, usePlan: usePlan)
        case .jit: return try JITBackend(graph: graph)
        }
    }
}
