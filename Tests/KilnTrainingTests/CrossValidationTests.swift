import KilnData
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// k-fold cross-validation: every example validated once, a fresh model per fold, mean ± std.
struct CrossValidationTests {
    @Test("three folds of the toy task: each validates a third, the summary has mean ± std")
    func folds() throws {
        let data = try TrainerTests.data(90)
        var built = 0
        let result = try CrossValidation.run(data, folds: 3, seed: 4, makeTrainer: { _ in
            built += 1
            return try Trainer(graph: try Parser.parse(TrainerTests.graphText), loss: "loss", optimizer: try .parse("adam:lr=0.05"))
        }, train: { trainer, train, _ in
            for _ in 0..<30 { for batch in train.trainingBatches(size: trainer.batchSize, seed: 1) { try trainer.step(batch) } }
        })
        #expect(built == 3)
        #expect(result.folds.map(\.validationCount) == [30, 30, 30])
        #expect(result.folds.allSatisfy { ($0.validationAccuracy ?? 0) > 0.6 })
        #expect(result.text.contains("validation accuracy over 3 folds: "))
        let (mean, std) = CrossValidation.meanAndStd([1, 2, 3, 4])
        #expect(mean == 2.5 && Swift.abs(std - 1.118_034) < 1e-6)
    }
}
