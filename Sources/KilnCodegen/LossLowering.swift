import KilnIR

/// Losses (scalars averaged over the batch) and the fused adjoint of softmax cross-entropy.
/// Labels are checked where they are read: a label outside [0, C) stops the step.
enum LossLowering {
    /// Per row r of logits [N, C]: the row's max m and Σ exp(x − m), as bound values.
    private static func rowStatistics(_ b: inout KernelBuilder, _ logits: Int, row: Expr, classes c: Int) -> (stmts: [Stmt], m: Expr, sum: Expr) {
        let (m, sum) = (b.fresh(), b.fresh())
        var stmts: [Stmt] = [.declare(m, .f32, .f32(-.infinity))]
        stmts += b.loop(c, .ordered) { _, j in
            let v = Expr.load(buffer: logits, index: row.mul(c).plus(j))
            return [.assign(m, .select(v.compare(.ge, .value(m)), v, .value(m)))]
        }
        stmts.append(.declare(sum, .f32, .f32(0)))
        stmts += b.loop(c, .ordered) { _, j in
            [.assign(sum, .binary(.addReassoc, .value(sum),
                                  .unary(.exp, .binary(.sub, .load(buffer: logits, index: row.mul(c).plus(j)), .value(m)))))]
        }
        return (stmts, .value(m), .value(sum))
    }

    private static func label(_ b: inout KernelBuilder, _ labels: Int, row: Expr, classes c: Int, op: OpKind) -> (stmts: [Stmt], label: Expr) {
        let code = b.failure("\(op.name): label {0} at position {1} is out of range for \(c) classes")
        let l = b.fresh()
        let value = Expr.value(l)
        return ([.bind(l, .convert(.load(buffer: labels, index: row), .i64)),
                 .when(value.compare(.lt, .i64(0)).or(value.compare(.ge, .i64(c))), then: [.fail(code: code, value, row)], otherwise: [])],
                value)
    }

    /// mean over rows of log Σ exp(x) − x[label].
    static func softmaxCrossEntropy(_ b: inout KernelBuilder, logits: Int, labels: Int, rows n: Int, classes c: Int, out: Int) -> [Stmt] {
        let total = b.fresh()
        var stmts: [Stmt] = [.declare(total, .f32, .f32(0))]
        stmts += b.loop(n, .ordered) { b, r in
            let (check, l) = label(&b, labels, row: r, classes: c, op: .softmax_cross_entropy)
            let (stats, m, sum) = rowStatistics(&b, logits, row: r, classes: c)
            // (m − x[label]) first: two nearby large logits subtract exactly, where m + log Σ
            // would round at the logits' magnitude (the interpreter sums this in Double).
            let term = Expr.binary(.add, .binary(.sub, m, .load(buffer: logits, index: r.mul(c).plus(l))), .unary(.log, sum))
            return check + stats + [.assign(total, .binary(.addReassoc, .value(total), term))]
        }
        return stmts + [.store(buffer: out, index: .i64(0), value: .binary(.div, .value(total), .f32(Float(n))))]
    }

    /// (softmax(logits) − onehot(labels)) · dloss / N.
    static func softmaxCrossEntropyGrad(_ b: inout KernelBuilder, logits: Int, labels: Int, dloss: Int, rows n: Int, classes c: Int, out: Int) -> [Stmt] {
        b.loop(n, .dataParallel) { b, r in
            let (check, l) = label(&b, labels, row: r, classes: c, op: .softmax_cross_entropy_grad)
            let (stats, m, sum) = rowStatistics(&b, logits, row: r, classes: c)
            let (scale, inv) = (b.fresh(), b.fresh())
            let prelude: [Stmt] = [.bind(scale, .binary(.div, .load(buffer: dloss, index: .i64(0)), .f32(Float(n)))),
                                   .bind(inv, .binary(.div, .f32(1), sum))]
            let write = b.loop(c, .dataParallel) { _, j in
                let p = Expr.binary(.mul, .binary(.mul, .unary(.exp, .binary(.sub, .load(buffer: logits, index: r.mul(c).plus(j)), m)), .value(inv)), .value(scale))
                let value = Expr.select(j.compare(.eq, l), .binary(.sub, p, .value(scale)), p)
                return [.store(buffer: out, index: r.mul(c).plus(j), value: value)]
            }
            return check + stats + prelude + write
        }
    }

    /// mse, binary cross-entropy (probabilities clamped to [1e-7, 1 − 1e-7]) and sigmoid
    /// cross-entropy on logits (max(x, 0) − x·t + log1p(exp(−|x|))), averaged over elements.
    static func pointwise(_ b: inout KernelBuilder, _ loss: PointwiseLoss, _ x: Int, _ t: Int, count: Int, out: Int) -> [Stmt] {
        let total = b.fresh()
        let sweep = b.loop(count, .ordered) { _, i in
            let (xv, tv) = (Expr.load(buffer: x, index: i), Expr.load(buffer: t, index: i))
            let term: Expr
            switch loss {
            case .binaryCrossEntropy:
                let p = Expr.binary(.minNaN, .binary(.maxNaN, xv, .f32(1e-7)), .f32(1 - 1e-7))
                let positive = Expr.binary(.mul, tv, .unary(.log, p))
                let negative = Expr.binary(.mul, .binary(.sub, .f32(1), tv), .unary(.log, .binary(.sub, .f32(1), p)))
                term = .unary(.neg, .binary(.add, positive, negative))
            case .sigmoidCrossEntropy:
                let relu = Expr.select(xv.compare(.gt, .f32(0)), xv, .f32(0))
                term = .binary(.add, .binary(.sub, relu, .binary(.mul, xv, tv)), .unary(.log1p, .unary(.exp, .unary(.neg, .unary(.abs, xv)))))
            case .meanSquaredError:
                let d = Expr.binary(.sub, xv, tv)
                term = .binary(.mul, d, d)
            }
            return [.assign(total, .binary(.addReassoc, .value(total), term))]
        }
        return [.declare(total, .f32, .f32(0))] + sweep
            + [.store(buffer: out, index: .i64(0), value: .binary(.div, .value(total), .f32(Float(count))))]
    }
}

/// The losses computed element by element and averaged.
enum PointwiseLoss {
    case meanSquaredError, binaryCrossEntropy, sigmoidCrossEntropy
}
