/// The default schedule of a lowered kernel for a target — the per-target heuristic that
/// decides how each canonical loop nest runs (later: autotuning over the same primitives):
/// 1. every innermost serial data-parallel loop of at least the vector width is split by the
///    width and its inner loop vectorised, when `Schedule.vectorize` finds it legal — a nested
///    loop the width does not divide first has its remainder peeled off into a masked vector
///    tail, and a loop shorter than the width (rows of 14 or 7) is one masked iteration (what
///    is not stays scalar; LLVM may still vectorise it, since it is marked data-parallel);
/// 2. every innermost ordered loop of at least the vector width that is a reduction (a sum,
///    max or min accumulated in a local) accumulates in vector lanes (`vectorizeReduction`);
/// 3. a kernel whose whole body is one data-parallel loop, and whose work pays for waking a
///    second thread, has that loop split across threads.
public enum Scheduler {
    /// How a backend schedules each kernel: the default heuristic, or another policy (a test's
    /// random schedules; later, autotuning). `name` enters compiled-module cache keys.
    public struct Policy: Sendable {
        public let name: String
        public let apply: @Sendable (LoopKernel, CodegenTarget) -> LoopKernel
        public init(name: String, apply: @escaping @Sendable (LoopKernel, CodegenTarget) -> LoopKernel) {
            self.name = name
            self.apply = apply
        }

        public static let heuristic = Policy(name: "heuristic") { Scheduler.schedule($0, for: $1).kernel }

        /// Random legal schedules (seeded): loops unrolled by a divisor of their extent, split
        /// and vectorised at 4, 8 or 16 lanes, the outermost data-parallel loop split across
        /// threads whatever its work — each primitive tried, and skipped where it is refused.
        /// The differential tests check every such schedule against the interpreter.
        public static func random(seed: UInt64) -> Policy {
            Policy(name: "random\(seed)") { kernel, _ in Scheduler.randomSchedule(kernel, seed: seed).kernel }
        }
    }

    /// A random legal schedule of `kernel` (see `Policy.random`).
    public static func randomSchedule(_ kernel: LoopKernel, seed: UInt64) -> Schedule {
        var state = seed ^ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var s = Schedule(kernel)
        for loop in allLoops(kernel.body) {
            switch next() % 3 {
            case 0:
                let factor = [2, 3, 4][Int(next() % 3)]
                try? s.unroll(loop.variable, factor: factor)
            case 1:
                let lanes = [4, 8, 16][Int(next() % 3)]
                var attempt = s
                if loop.axis == .ordered {
                    if (try? attempt.vectorizeReduction(loop.variable, lanes: lanes)) != nil { s = attempt }
                    continue
                }
                if loop.extent <= lanes {
                    // Masked when shorter than the vectors.
                    if (try? attempt.vectorize(loop.variable, lanes: lanes)) != nil { s = attempt }
                    continue
                }
                let tail = loop.extent % lanes != 0 ? try? attempt.peel(loop.variable, multipleOf: lanes) : nil
                if let (_, inner) = try? attempt.split(loop.variable, factor: lanes), (try? attempt.vectorize(inner, lanes: lanes)) != nil {
                    if let tail, next() % 2 == 0 { try? attempt.vectorize(tail, lanes: lanes) }
                    s = attempt
                }
            default:
                break
            }
        }
        if s.kernel.body.count == 1, case .loop(let outer) = s.kernel.body[0], next() % 2 == 0 { try? s.parallelize(outer.variable) }
        return s
    }

    private static func allLoops(_ stmts: [Stmt]) -> [Loop] {
        stmts.flatMap { s -> [Loop] in
            switch s {
            case .loop(let l): return [l] + allLoops(l.body)
            case .when(_, let then, let otherwise): return allLoops(then) + allLoops(otherwise)
            case .bind, .declare, .assign, .store, .fail, .gemm, .vectorStore, .prefetch: return []
            }
        }
    }

    /// Loops (and peeled tails) of fewer iterations than this stay scalar rather than masked:
    /// a masked vector operation costs about what one to three scalar ones do.
    public static let minimumMaskedLanes = 4

    /// Kernels doing at least this much work (roughly, scalar operations) run on every core:
    /// below it, waking a second thread costs more than it saves (an LSTM step has ~600 small kernels).
    public static let parallelWork = 1 << 17

    public static func schedule(_ kernel: LoopKernel, for target: CodegenTarget) -> Schedule {
        var s = Schedule(kernel)
        let lanes = target.vectorLanes
        let topLevel = Set(kernel.body.compactMap { if case .loop(let l) = $0 { return l.variable } else { return nil } })
        for v in innermostLoops(kernel.body, .dataParallel) where v.extent >= minimumMaskedLanes {
            // Work on a copy: a refusal after the split must leave the kernel as it was.
            var attempt = s
            if v.extent < lanes {
                // A short loop (a row of 14 or 7) is one masked vector iteration.
                if (try? attempt.vectorize(v.variable, lanes: lanes)) != nil { s = attempt }
                continue
            }
            var tail: Int?
            if v.extent % lanes != 0 {
                // A nested loop (rows of 56 or 28) has its tail peeled off and masked; a kernel's
                // outermost loop is left whole, as it is what `parallelize` splits across threads.
                guard !topLevel.contains(v.variable), let peeled = try? attempt.peel(v.variable, multipleOf: lanes) else { continue }
                tail = peeled
            }
            guard let (_, inner) = try? attempt.split(v.variable, factor: lanes), (try? attempt.vectorize(inner, lanes: lanes)) != nil else { continue }
            if let tail, v.extent % lanes >= minimumMaskedLanes { try? attempt.vectorize(tail, lanes: lanes) }
            s = attempt
        }
        // Reductions along a row at least a vector long (softmax's max and sum, a loss's total)
        // accumulate in vector lanes.
        for v in innermostLoops(kernel.body, .ordered) where v.extent >= lanes {
            var attempt = s
            if (try? attempt.vectorizeReduction(v.variable, lanes: lanes)) != nil { s = attempt }
        }
        if target.threads > 1, kernel.work >= parallelWork, s.kernel.body.count == 1, case .loop(let outer) = s.kernel.body[0],
           outer.extent > 1, outer.axis == .dataParallel {
            try? s.parallelize(outer.variable)
        }
        return s
    }

    private static func innermostLoops(_ stmts: [Stmt], _ axis: LoopAxis) -> [Loop] {
        var found: [Loop] = []
        for s in stmts {
            switch s {
            case .loop(let l):
                let nested = innermostLoops(l.body, axis)
                // A loop holding another only under a `when` is not innermost (a GEMM's unit loop).
                if !Stmt.containLoop(l.body) && l.axis == axis && l.kind == .serial { found.append(l) }
                found += nested
            case .when(_, let then, let otherwise):
                found += innermostLoops(then, axis) + innermostLoops(otherwise, axis)
            case .bind, .declare, .assign, .store, .fail, .gemm, .vectorStore, .prefetch:
                break
            }
        }
        return found
    }
}
