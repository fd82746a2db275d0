import Foundation
import KilnIR

/// State updates a step may write straight into the storage of the param they replace, instead
/// of a fresh buffer swapped in after the step (JAX's donated buffers, PyTorch's in-place
/// optimisers): a param and its optimiser moments then take one buffer each, not two. It was
/// meant to save the read-for-ownership of every fresh line an update writes, but measured
/// against fresh buffers (AVX2 Zen 3, alternating steps of two processes) the MLP's Adam step
/// at batch 32 took 1.00–1.10 of the time over five runs of 300–600 rounds, LeNet-5's 1.02 and
/// the transformer's 1.04; `kiln bench --profile` puts it in the update kernels (w2's 0.10
/// against 0.08 ms). So it is off unless asked for (`JITBackend.updatesInPlace`): what it
/// gives is memory.
///
/// An update `target ← value` qualifies when, in every call of the step program:
/// - the value's producing node reads the target only element by element at the index it
///   writes the value (an elementwise kernel, or the elementwise epilogue of a contraction
///   whose core does not read it), so each element is read before it is overwritten — and no
///   kernel stages a product in the value's buffer before reading the target (a generated
///   GEMM keeps its product in a scratch tile for the epilogue, so Adam's new weights, fused
///   into the weight gradient's GEMM, qualify; convolutions and sgemm stage it);
/// - no call after the value's first writer reads the target (the target's last reader is the
///   node that replaces it), and no call from there on can fail (a failed step leaves the state
///   as it was);
/// - neither the target nor the value is an output.
/// Invariant calls are skipped while a param's storage is the same object
/// (`JITBackend.reusesParamTransforms`): with that on, their params are updated out of place.
/// At run time the target's storage must also be referenced by the state alone
/// (`JITBackend.run`): a caller holding the tensor keeps its values.
enum InPlaceUpdates {
    /// `KILN_INPLACE=on`: the default of `JITBackend.updatesInPlace`.
    static let requested = ProcessInfo.processInfo.environment["KILN_INPLACE"] == "on"

    /// Update value → target for the updates that qualify.
    static func plan(_ g: Graph, calls: [StepCall], slots: [String: Int]) -> [String: String] {
        let params = Dictionary(g.params.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        let outputs = Set(g.outputs)
        let lastFailing = calls.lastIndex { $0.failureBase != nil } ?? -1
        var producers: [String: Int] = [:]
        for (i, node) in g.nodes.enumerated() { for name in node.resultNames { producers[name] = i } }
        // The last node reading each value (a fused node lists every outer value its body reads).
        var lastReader: [String: Int] = [:]
        for (i, node) in g.nodes.enumerated() { for operand in node.operands { lastReader[operand] = i } }
        // The calls using each slot, in order (one pass: a step may have thousands of updates).
        var uses: [Int: [Int]] = [:]
        for (i, call) in calls.enumerated() { for slot in Set(call.slots) { uses[slot, default: []].append(i) } }
        let stagingUnknown = calls.contains { $0.stagedSlots == nil }
        let staged = Set(calls.flatMap { $0.stagedSlots ?? [] })
        var result: [String: String] = [:]
        for update in g.updates {
            guard let type = params[update.target], !outputs.contains(update.target), !outputs.contains(update.value),
                  let index = producers[update.value], (lastReader[update.target] ?? index) <= index,
                  case let node = g.nodes[index], node.resultTypes.first(where: { $0.0 == update.value })?.1 == type,
                  readsAligned(node, value: update.value, target: update.target, type: type, stagingUnknown: stagingUnknown),
                  let valueSlot = slots[update.value], let targetSlot = slots[update.target], !staged.contains(valueSlot),
                  let valueUses = uses[valueSlot], let first = valueUses.first, first > lastFailing
            else { continue }
            // After the value's first writer, the target is read only by calls that also touch
            // the value (the producing node's own kernels: packing, product, epilogue).
            let valueCalls = Set(valueUses)
            guard (uses[targetSlot] ?? []).allSatisfy({ $0 < first || valueCalls.contains($0) }) else { continue }
            result[update.value] = update.target
        }
        return result
    }

    /// Whether `node` reads `target` only at the flat index of each element it writes into
    /// `value`'s buffer, before writing it: through elementwise ops of the target's own type,
    /// never into a contraction, reduction or index map. A contraction's product may be staged
    /// in one result's buffer before its epilogue reads it back (`FusedLowering`); calls say
    /// which (`StepCall.stagedSlots`), and where they do not (`stagingUnknown`), the result it
    /// would be staged in is refused.
    static func readsAligned(_ node: Node, value: String, target: String, type: TensorType, stagingUnknown: Bool = false) -> Bool {
        guard let region = node.region else {
            return !node.operands.contains(target) || (node.op.fusionRole == .elementwise && node.type == type)
        }
        guard region.contains(where: { $0.operands.contains(target) }) else { return true }
        if stagingUnknown, let contraction = region.first(where: { $0.op.fusionRole == .contraction }) {
            let results = node.resultNames
            let staged = results.contains(contraction.name) ? contraction.name : results.first
            if staged == value { return false }
        }
        // The region's values derived from the target, followed through the body.
        var derived: Set<String> = [target]
        for inner in region where inner.operands.contains(where: derived.contains) {
            guard inner.op.fusionRole == .elementwise, inner.type == type else { return false }
            derived.formUnion(inner.resultNames)
        }
        return true
    }
}
