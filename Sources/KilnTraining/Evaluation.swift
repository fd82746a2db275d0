import Foundation
import KilnData
import KilnIR
import KilnRuntime

/// Accuracy and loss of a classifier over a whole data set (padding rows excluded).
public struct Evaluation: Sendable {
    /// Mean softmax cross-entropy of the logits.
    public var loss: Double
    public var accuracy: Double
    /// Predicted and true class of every example, in data-set order.
    public var predictions: [Int32]
    public var labels: [Int32]
    /// Class probabilities of every example (rows of `classes` values), for ROC curves.
    public var probabilities: [Float]
    public var classes: Int

    public init(loss: Double, accuracy: Double, predictions: [Int32], labels: [Int32], probabilities: [Float], classes: Int) {
        self.loss = loss
        self.accuracy = accuracy
        self.predictions = predictions
        self.labels = labels
        self.probabilities = probabilities
        self.classes = classes
    }
}

extension Trainer {
    /// Loss and accuracy over every example of `dataset`, from the logits output (declared
    /// `as logits`, or `logits` when given).
    public func evaluate(_ dataset: Dataset, logits asked: String? = nil) throws -> Evaluation {
        guard let logits = asked ?? logits, let labelInput else {
            throw Diagnostic("graph '\(forward.name)' is not a classifier: it needs an output declared 'as logits' [batch, classes] and an i32 label input")
        }
        let plan = try feedPlan(for: dataset)
        guard let labelArray = plan.array(for: labelInput.name) else {
            throw Diagnostic("no data-set array feeds the label input '\(labelInput.name)'")
        }
        var totalLoss = 0.0, correct = 0
        var predictions: [Int32] = [], labels: [Int32] = [], probabilities: [Float] = []
        var classes = 0
        for batch in dataset.evaluationBatches(size: batchSize) {
            let outputs = try self.outputs(for: batch, plan: plan)
            guard let scores = outputs[logits], scores.shape.rank == 2 else {
                throw Diagnostic("graph '\(forward.name)' has no rank-2 output '\(logits)' to classify with")
            }
            classes = scores.shape[1]
            // Rows and labels are read by index below: check the shapes first, since a graph
            // whose logits are narrower than the labels' range would read past each row.
            guard let batchLabels = batch[labelArray], classes > 0, scores.shape[0] >= batch.count, batchLabels.dtype == .i32,
                  batchLabels.elementCount >= batch.count else {
                throw Diagnostic("output '\(logits)' \(scores.type) does not hold one row of class scores per example (batch of \(batch.count))")
            }
            let p = scores.floatPointer
            for row in 0..<batch.count {
                let label = Int(batchLabels.intPointer[row])
                guard (0..<classes).contains(label) else {
                    throw Diagnostic("label \(label) is outside the \(classes) classes of output '\(logits)' \(scores.type); the graph's logits must have one column per class")
                }
                let base = row * classes
                var best = 0, m = p[base]
                for j in 0..<classes where p[base + j] > m { m = p[base + j]; best = j }
                var sum = 0.0
                for j in 0..<classes { sum += Foundation.exp(Double(p[base + j] - m)) }
                totalLoss += Double(m) + Foundation.log(sum) - Double(p[base + label])
                for j in 0..<classes { probabilities.append(Float(Foundation.exp(Double(p[base + j] - m)) / sum)) }
                if best == label { correct += 1 }
                predictions.append(Int32(best))
                labels.append(Int32(label))
            }
        }
        let n = Swift.max(predictions.count, 1)
        return Evaluation(loss: totalLoss / Double(n), accuracy: Double(correct) / Double(n), predictions: predictions,
                          labels: labels, probabilities: probabilities, classes: classes)
    }
}
