import KilnIR
import KilnRuntime

extension ComparedBackend {
    /// The JIT, for `compare(graph:backends:)` against the interpreter.
    public static var jit: ComparedBackend {
        ComparedBackend(name: "jit") { try JITBackend(graph: $0) }
    }
}
