/// The default schedule of a lowered kernel for a target — the per-target heuristic that
/// decides how each canonical loop nest runs (later: autotuning over the same primitives):
/// 1. every innermost serial data-parallel loop whose extent the vector width divides is split
///    by the width and its inner loop vectorised, when `Schedule.vectorize` finds it legal
///    (what is not stays scalar; LLVM may still vectorise it, since it is marked data-parallel);
/// 2. a kernel whose whole body is one data-parallel loop, and whose work pays for waking a
///    second thread, has that loop split across threads.
public enum Scheduler {
    /// Kernels doing at least this much work (roughly, scalar operations) run on every core:
    /// below it, waking a second thread costs more than it saves (an LSTM step has ~600 small kernels).
    public static let parallelWork = 1 << 17

    public static func schedule(_ kernel: LoopKernel, for target: CodegenTarget) -> Schedule {
        var s = Schedule(kernel)
        let lanes = target.vectorLanes
        for v in innermostDataParallelLoops(kernel.body) where v.extent % lanes == 0 && v.extent >= lanes {
            // Work on a copy: a refusal after the split must leave the kernel as it was.
            var attempt = s
            guard let (_, inner) = try? attempt.split(v.variable, factor: lanes) else { continue }
            if (try? attempt.vectorize(inner, lanes: lanes)) != nil { s = attempt }
        }
        if target.threads > 1, kernel.work >= parallelWork, s.kernel.body.count == 1, case .loop(let outer) = s.kernel.body[0],
           outer.extent > 1, outer.axis == .dataParallel {
            try? s.parallelize(outer.variable)
        }
        return s
    }

    private static func innermostDataParallelLoops(_ stmts: [Stmt]) -> [Loop] {
        var found: [Loop] = []
        for s in stmts {
            switch s {
            case .loop(let l):
                let nested = innermostDataParallelLoops(l.body)
                let hasLoop = l.body.contains { if case .loop = $0 { return true } else { return false } }
                if !hasLoop && l.axis == .dataParallel && l.kind == .serial { found.append(l) }
                found += nested
            case .when(_, let then, let otherwise):
                found += innermostDataParallelLoops(then) + innermostDataParallelLoops(otherwise)
            case .bind, .declare, .assign, .store, .fail, .gemm, .vectorStore:
                break
            }
        }
        return found
    }
}
