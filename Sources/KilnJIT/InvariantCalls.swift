import KilnCodegen

/// Calls that compute from params alone: a kernel that reads only params (and scratch that
/// only such kernels write) and writes only scratch — a Winograd weight transform. Their scratch
/// is kept apart from the shared region (`ScratchBuffer.persistent`), so what they wrote is
/// still there a step later, and `JITBackend` can skip them while the params they read are the
/// same storage (`JITBackend.reusesParamTransforms`), as onnxruntime pre-packs initialisers.
enum InvariantCalls {
    /// Marks `calls` (one per kernel of `kernels`, same order) and the scratch they write.
    static func mark(_ calls: inout [StepCall], kernels: [LoopKernel], scratch: inout [ScratchBuffer], params: Set<Int>) {
        let scratchSlots = Set(scratch.map(\.slot))
        let use = zip(calls, kernels).map { call, kernel in
            let (read, written) = kernel.bufferUse
            return (touched: Set(read.union(written).map { call.slots[$0] }), written: Set(written.map { call.slots[$0] }))
        }
        let writes = use.map(\.written)
        var candidate = calls.indices.map { i in
            !writes[i].isEmpty && writes[i].isSubset(of: scratchSlots) && use[i].touched.subtracting(scratchSlots).isSubset(of: params)
        }
        // A candidate stays one while every scratch buffer it touches is written by candidates only.
        var changed = true
        while changed {
            changed = false
            var writtenByOthers = Set<Int>()
            for i in calls.indices where !candidate[i] { writtenByOthers.formUnion(writes[i]) }
            for i in calls.indices where candidate[i] {
                let touched = use[i].touched.intersection(scratchSlots)
                if !touched.isDisjoint(with: writtenByOthers) || !touched.allSatisfy({ slot in calls.indices.contains { candidate[$0] && writes[$0].contains(slot) } }) {
                    candidate[i] = false
                    changed = true
                }
            }
        }
        var kept = Set<Int>()
        for i in calls.indices where candidate[i] {
            calls[i].invariant = true
            kept.formUnion(writes[i])
        }
        for i in scratch.indices where kept.contains(scratch[i].slot) { scratch[i].persistent = true }
    }
}
