import KilnIR
#if canImport(Glibc)
import Glibc
#endif

/// Losses, each a scalar averaged over the batch (PyTorch's and JAX's convention), summed in
/// Double; and the fused adjoint of softmax cross-entropy.
enum LossKernels {
    /// Checks that every label names a class.
    private static func checkLabels(_ labels: Tensor, classes: Int, op: OpKind) throws {
        for i in 0..<labels.elementCount {
            let label = labels.intPointer[i]
            guard label >= 0 && Int(label) < classes else {
                throw Diagnostic("\(op.name): label \(label) at position \(i) is out of range for \(classes) classes")
            }
        }
    }

    /// mean over rows of −log_softmax(logits)[label].
    static func softmaxCrossEntropy(_ logits: Tensor, _ labels: Tensor, into out: Tensor) throws {
        let (n, c) = (logits.shape[0], logits.shape[1])
        try checkLabels(labels, classes: c, op: .softmax_cross_entropy)
        var total: Double = 0
        for r in 0..<n {
            let row = logits.floatPointer + r * c
            var m = -Float.infinity
            for j in 0..<c { m = Swift.max(m, row[j]) }
            var sum: Double = 0
            for j in 0..<c { sum += Double(expf(row[j] - m)) }
            total += Double(m) + log(sum) - Double(row[Int(labels.intPointer[r])])
        }
        out.floatPointer[0] = Float(total / Double(n))
    }

    /// (softmax(logits) − onehot(labels)) · dloss / N.
    static func softmaxCrossEntropyGrad(_ logits: Tensor, _ labels: Tensor, _ dloss: Tensor, into out: Tensor) throws {
        let (n, c) = (logits.shape[0], logits.shape[1])
        try checkLabels(labels, classes: c, op: .softmax_cross_entropy_grad)
        let scale = dloss.floatPointer[0] / Float(n)
        for r in 0..<n {
            let row = logits.floatPointer + r * c, dst = out.floatPointer + r * c
            var m = -Float.infinity
            for j in 0..<c { m = Swift.max(m, row[j]) }
            var sum: Double = 0
            for j in 0..<c { sum += Double(expf(row[j] - m)) }
            let inv = Float(1 / sum)
            for j in 0..<c { dst[j] = expf(row[j] - m) * inv * scale }
            dst[Int(labels.intPointer[r])] -= scale
        }
    }

    /// The losses computed element by element and averaged.
    enum Pointwise { case meanSquaredError, binaryCrossEntropy, sigmoidCrossEntropy }

    static func pointwise(_ loss: Pointwise, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        let pa = a.floatPointer, pb = b.floatPointer
        var total: Double = 0
        for i in 0..<a.elementCount {
            let x = Double(pa[i]), t = Double(pb[i])
            switch loss {
            case .meanSquaredError: total += (x - t) * (x - t)
            case .binaryCrossEntropy:
                let p = Double(Swift.min(Swift.max(pa[i], 1e-7), 1 - 1e-7))
                total -= t * log(p) + (1 - t) * log(1 - p)
            case .sigmoidCrossEntropy: total += Swift.max(x, 0) - x * t + log1p(exp(-Swift.abs(x)))
            }
        }
        out.floatPointer[0] = Float(total / Double(a.elementCount))
    }
}
