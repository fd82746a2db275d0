import KilnIR

/// The optimising pipeline a graph runs before either backend executes it — simplify, fuse,
/// plan-memory — named once. The interpreter and the JIT need the same three (the JIT compiles
/// fused kernels into a planned arena; the interpreter runs what the JIT compiles, so the two can
/// be compared node for node), so there is one pipeline; a backend that needs another would get
/// its own name here.
public enum OptimizingPipeline {
    /// The passes, in order.
    public static var passes: [any Pass] { [Simplify(), Fusion(), MemoryPlanner()] }
    /// The same as a `--passes` spec (`kiln dump --optimized`).
    public static let spec = "simplify,fuse,plan-memory"

    /// `graph` after the pipeline (each pass verified).
    public static func run(_ graph: Graph) throws -> Graph {
        var manager = PassManager(passes)
        return try manager.run(graph)
    }
}
