import KilnIR
import KilnJIT
import KilnRuntime

/// A backend to check, by name, built from the graph it is to run (`compare`, `GradientCheck`). A factory rather than an
/// instance because the per-node search builds the backend again for derived graphs (every
/// value an output; one kernel alone).
public struct ComparedBackend {
    /// How the report names it ("interpreter", "jit").
    public var name: String
    /// Builds the backend for a typed graph (planned when it came from the optimising pipeline).
    public var make: (Graph) throws -> ExecutionBackend

    public init(name: String, make: @escaping (Graph) throws -> ExecutionBackend) {
        self.name = name
        self.make = make
    }

    /// The interpreter, one buffer per value: the reference every other backend is checked against.
    public static var interpreter: ComparedBackend {
        ComparedBackend(name: "interpreter") { try Interpreter(graph: $0) }
    }

    /// The LLVM JIT: the backend checked against the interpreter.
    public static var jit: ComparedBackend {
        ComparedBackend(name: "jit") { try JITBackend(graph: $0) }
    }
}
