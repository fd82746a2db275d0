import KilnIR

/// ONNX `Einsum` lowered to transposes, reshapes, reductions and batched matmuls: labels only
/// one operand uses are summed first, a repeated label in one operand takes the diagonal, and
/// operands are contracted pairwise left to right — shared labels still needed become batch
/// axes, shared labels no longer needed the contracted axis of one `MatMul` (NumPy batch
/// broadcasting included) — before a final transpose to the output's order. Ellipses broadcast
/// as in NumPy.
enum EinsumConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Einsum"] = convert
    }

    /// A value with one label per axis.
    struct Term {
        var value: String
        var labels: [Character]
    }

    static func convert(_ ctx: ImportContext) throws {
        let equation = ctx.attributes.string("equation", "").filter { !$0.isWhitespace }
        guard !equation.isEmpty else { throw ConversionError("equation is missing") }
        let sides = equation.components(separatedBy: "->")
        guard sides.count <= 2 else { throw ConversionError("equation '\(equation)' has more than one '->'") }
        let inputs = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let operands = try (0..<ctx.inputCount).filter { ctx.hasInput($0) }.map { try ctx.operand($0) }
        guard inputs.count == operands.count else { throw ConversionError("equation '\(equation)' names \(inputs.count) operands, the node has \(operands.count)") }
        // The ellipsis stands for the leading axes no letter names, aligned from the right.
        var ellipsisRank = 0
        var terms: [Term] = []
        let ellipsisLabels: [Character] = (0..<26).compactMap { Unicode.Scalar(0x3B1 + $0).map(Character.init) }  // α, β, … never letters of ONNX equations
        for (spec, v) in zip(inputs, operands) {
            let rank = try ctx.dims(v).count
            let parts = spec.components(separatedBy: "...")
            guard parts.count <= 2, (parts.joined()).allSatisfy({ $0.isASCII && $0.isLetter }) else { throw ConversionError("operand term '\(spec)' is not letters with at most one '...'") }
            let named = parts.joined().count
            let e = parts.count == 2 ? rank - named : 0
            guard e >= 0, parts.count == 2 || rank == named, e <= ellipsisLabels.count else { throw ConversionError("operand term '\(spec)' does not fit an operand of rank \(rank)") }
            ellipsisRank = max(ellipsisRank, e)
            let middle = Array(ellipsisLabels[..<ellipsisRank].suffix(e))
            terms.append(Term(value: v, labels: Array(parts[0]) + (parts.count == 2 ? middle + Array(parts[1]) : [])))
        }
        // Re-align ellipsis labels now that the widest ellipsis is known.
        for i in terms.indices {
            let spec = inputs[i], rank = terms[i].labels.count
            let parts = spec.components(separatedBy: "...")
            if parts.count == 2 {
                let e = rank - parts.joined().count
                terms[i].labels = Array(parts[0]) + Array(ellipsisLabels[..<ellipsisRank].suffix(e)) + Array(parts[1])
            }
        }
        let broadcastLabels = Array(ellipsisLabels[..<ellipsisRank])
        var output: [Character]
        if sides.count == 2 {
            let parts = sides[1].components(separatedBy: "...")
            guard parts.count <= 2, parts.joined().allSatisfy({ $0.isASCII && $0.isLetter }) else { throw ConversionError("output term '\(sides[1])' is not letters with at most one '...'") }
            output = Array(parts[0]) + (parts.count == 2 ? broadcastLabels + Array(parts[1]) : [])
        } else {
            // Implicit output: the ellipsis, then the letters used once, alphabetically.
            let letters = terms.flatMap(\.labels).filter { !broadcastLabels.contains($0) }
            output = broadcastLabels + Set(letters).filter { c in letters.filter { $0 == c }.count == 1 }.sorted()
        }
        guard Set(output).count == output.count else { throw ConversionError("output term repeats a label") }
        for c in output where !terms.contains(where: { $0.labels.contains(c) }) { throw ConversionError("output label '\(c)' is in no operand") }

        for i in terms.indices { terms[i] = try diagonals(ctx, terms[i]) }
        var current = terms[0]
        for next in 0..<terms.count {
            let later = terms[(next + 1)...].flatMap(\.labels)
            if next == 0 {
                current = try sumUnused(ctx, current, keep: Set(output + later))
                continue
            }
            let needed = Set(output + terms[(next + 1)...].flatMap(\.labels))
            let right = try sumUnused(ctx, terms[next], keep: needed.union(current.labels))
            current = try sumUnused(ctx, current, keep: needed.union(right.labels))
            current = try contract(ctx, current, right, keep: needed)
        }
        current = try sumUnused(ctx, current, keep: Set(output))
        var y = current.value
        let perm = try output.map { c -> Int in
            guard let i = current.labels.firstIndex(of: c) else { throw ConversionError("output label '\(c)' was lost") }
            return i
        }
        if perm != Array(0..<perm.count) { y = try ctx.emit(.transpose, [y], [("perm", .ints(perm))]) }
        try ctx.define(0, try ctx.emit(.reshape, [y], [("shape", .ints(try ctx.dims(y)))]))
    }

    /// Sums the axes whose labels `keep` does not hold.
    static func sumUnused(_ ctx: ImportContext, _ t: Term, keep: Set<Character>) throws -> Term {
        let axes = t.labels.indices.filter { !keep.contains(t.labels[$0]) }
        guard !axes.isEmpty else { return t }
        let y = try ctx.emit(.reduce_sum, [t.value], [("axes", .ints(axes))])
        return Term(value: y, labels: t.labels.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
    }

    /// A label repeated within one term takes the diagonal: the two axes moved last, flattened,
    /// and every (n + 1)-th element gathered.
    static func diagonals(_ ctx: ImportContext, _ term: Term) throws -> Term {
        var t = term
        while let (p, q) = firstRepeat(t.labels) {
            let dims = try ctx.dims(t.value)
            guard dims[p] == dims[q] else { throw ConversionError("label '\(t.labels[p])' has sizes \(dims[p]) and \(dims[q]) in one operand") }
            let rest = t.labels.indices.filter { $0 != p && $0 != q }
            let moved = try ctx.emit(.transpose, [t.value], [("perm", .ints(rest + [p, q]))])
            let n = dims[p], outer = rest.map { dims[$0] }
            let flat = try ctx.emit(.reshape, [moved], [("shape", .ints(outer + [n * n]))])
            var plan = try SlicePlan.all(outer + [n * n])
            plan.indices[outer.count] = (0..<n).map { $0 * (n + 1) }
            t = Term(value: try LayoutConverters.take(ctx, flat, plan), labels: rest.map { t.labels[$0] } + [t.labels[p]])
        }
        return t
    }

    static func firstRepeat(_ labels: [Character]) -> (Int, Int)? {
        for i in labels.indices { for j in (i + 1)..<labels.count where labels[i] == labels[j] { return (i, j) } }
        return nil
    }

    /// Contracts two terms: labels in both and in `keep` are batch axes, labels in both but not
    /// kept are summed by the product.
    static func contract(_ ctx: ImportContext, _ a: Term, _ b: Term, keep: Set<Character>) throws -> Term {
        let da = try ctx.dims(a.value), db = try ctx.dims(b.value)
        func size(_ t: Term, _ d: [Int], _ c: Character) -> Int { t.labels.firstIndex(of: c).map { d[$0] } ?? 1 }
        let shared = a.labels.filter { b.labels.contains($0) }
        let batch = shared.filter { keep.contains($0) }, summed = shared.filter { !keep.contains($0) }
        let aOnly = a.labels.filter { !b.labels.contains($0) }, bOnly = b.labels.filter { !a.labels.contains($0) }
        for c in summed where size(a, da, c) != size(b, db, c) {
            throw ConversionError("label '\(c)' has sizes \(size(a, da, c)) and \(size(b, db, c)) in the contracted operands")
        }
        func arranged(_ t: Term, _ d: [Int], _ order: [Character], _ shape: [Int]) throws -> String {
            let perm = order.compactMap { t.labels.firstIndex(of: $0) }
            var v = t.value
            if perm != Array(0..<perm.count) { v = try ctx.emit(.transpose, [v], [("perm", .ints(perm))]) }
            return try ctx.emit(.reshape, [v], [("shape", .ints(shape))])
        }
        let m = aOnly.reduce(1) { $0 * size(a, da, $1) }, k = summed.reduce(1) { $0 * size(a, da, $1) }
        let n = bOnly.reduce(1) { $0 * size(b, db, $1) }
        let batchA = batch.map { size(a, da, $0) }, batchB = batch.map { size(b, db, $0) }
        let left = try arranged(a, da, batch + aOnly + summed, batchA + [m, k])
        let right = try arranged(b, db, batch + summed + bOnly, batchB + [k, n])
        let product = try MatmulConverters.matmul(ctx, left, right)
        let batchDims = try broadcastShape(batchA, batchB)
        let dims = batchDims + aOnly.map { size(a, da, $0) } + bOnly.map { size(b, db, $0) }
        let y = try ctx.emit(.reshape, [product], [("shape", .ints(dims))])
        return Term(value: y, labels: batch + aOnly + bOnly)
    }
}
