import KilnIR
#if canImport(Glibc)
import Glibc
#endif

/// Reductions over any set of axes, softmax/log-softmax (max-subtracted, log-sum-exp) and argmax.
enum ReductionKernels {
    /// Splits a shape around one axis into (outer, extent, inner) for row/column sweeps.
    static func split(_ shape: Shape, axis: Int) -> (Int, Int, Int) {
        let outer = shape.dims[..<axis].reduce(1, *)
        let inner = shape.dims[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }

    /// Output offset of every input element, for reductions over arbitrary axes.
    private static func forEachElement(_ input: Shape, axes: Set<Int>, _ body: (Int, Int) -> Void) {
        let rank = input.rank
        var outStrides = [Int](repeating: 0, count: rank)
        var running = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) where !axes.contains(axis) {
            outStrides[axis] = running
            running *= input[axis]
        }
        var counter = [Int](repeating: 0, count: rank)
        var outOffset = 0
        for i in 0..<input.elementCount {
            body(i, outOffset)
            var axis = rank - 1
            while axis >= 0 {
                counter[axis] += 1
                outOffset += outStrides[axis]
                if counter[axis] < input[axis] { break }
                outOffset -= outStrides[axis] * counter[axis]
                counter[axis] = 0
                axis -= 1
            }
        }
    }

    static func reduce(_ op: OpKind, _ x: Tensor, _ attrs: Attributes, into out: Tensor) throws {
        let axes = Set(try normalizedAxes(attrs.ints("axes"), x.type))
        let count = axes.reduce(1) { $0 * x.shape[$1] }
        if x.dtype == .i32 {
            let px = x.intPointer, po = out.intPointer
            po.update(repeating: op == .reduce_max ? .min : 0, count: out.elementCount)
            forEachElement(x.shape, axes: axes) { i, o in
                po[o] = op == .reduce_max ? Swift.max(po[o], px[i]) : po[o] &+ px[i]
            }
            return
        }
        let px = x.floatPointer, po = out.floatPointer
        // Sums accumulate in Double so results do not depend on the reduction order.
        if op == .reduce_max {
            po.update(repeating: -.infinity, count: out.elementCount)
            forEachElement(x.shape, axes: axes) { i, o in
                if px[i] > po[o] || px[i].isNaN { po[o] = px[i] }
            }
            return
        }
        let acc = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(out.elementCount, 1))
        defer { acc.deallocate() }
        acc.initialize(repeating: 0, count: Swift.max(out.elementCount, 1))
        if axes.count == 1, let axis = axes.first {
            let (outer, extent, inner) = split(x.shape, axis: axis)
            for a in 0..<outer {
                for r in 0..<extent {
                    let row = px + (a * extent + r) * inner
                    let dst = acc + a * inner
                    for b in 0..<inner { dst[b] += Double(row[b]) }
                }
            }
        } else if axes.count == x.rank - 1, let kept = (0..<x.rank).first(where: { !axes.contains($0) }) {
            // Every axis but one (a convolution's bias gradient): contiguous runs per channel.
            let (outer, extent, inner) = split(x.shape, axis: kept)
            for a in 0..<outer {
                for c in 0..<extent {
                    let row = px + (a * extent + c) * inner
                    var sum = 0.0
                    for b in 0..<inner { sum += Double(row[b]) }
                    acc[c] += sum
                }
            }
        } else {
            forEachElement(x.shape, axes: axes) { i, o in acc[o] += Double(px[i]) }
        }
        let scale = op == .reduce_mean ? 1 / Double(count) : 1
        for o in 0..<out.elementCount { po[o] = Float(acc[o] * scale) }
    }

    static func softmax(_ x: Tensor, axis rawAxis: Int, log: Bool, into out: Tensor) throws {
        let axis = try normalizedAxis(rawAxis, rank: x.rank, x.type)
        let (outer, extent, inner) = split(x.shape, axis: axis)
        let px = x.floatPointer, po = out.floatPointer
        for a in 0..<outer {
            for b in 0..<inner {
                let base = a * extent * inner + b
                var m = -Float.infinity
                for r in 0..<extent { m = Swift.max(m, px[base + r * inner]) }
                if m == -.infinity { m = 0 }
                var sum: Double = 0
                if log {
                    for r in 0..<extent { sum += Double(expf(px[base + r * inner] - m)) }
                    let lse = m + Float(Glibc.log(sum))
                    for r in 0..<extent { po[base + r * inner] = px[base + r * inner] - lse }
                } else {
                    // One exp per element: store it, then scale (the output may alias nothing here).
                    for r in 0..<extent {
                        let e = expf(px[base + r * inner] - m)
                        po[base + r * inner] = e
                        sum += Double(e)
                    }
                    let inv = Float(1 / sum)
                    for r in 0..<extent { po[base + r * inner] *= inv }
                }
            }
        }
    }

    static func argmax(_ x: Tensor, axis rawAxis: Int, into out: Tensor) throws {
        let axis = try normalizedAxis(rawAxis, rank: x.rank, x.type)
        let (outer, extent, inner) = split(x.shape, axis: axis)
        let isFloat = x.dtype == .f32
        for a in 0..<outer {
            for b in 0..<inner {
                let base = a * extent * inner + b
                var best = 0
                for r in 1..<Swift.max(extent, 1) {
                    let better = isFloat ? x.floatPointer[base + r * inner] > x.floatPointer[base + best * inner]
                                         : x.intPointer[base + r * inner] > x.intPointer[base + best * inner]
                    if better { best = r }
                }
                out.intPointer[a * inner + b] = Int32(best)
            }
        }
    }
}

