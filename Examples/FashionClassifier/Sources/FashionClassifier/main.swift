import Foundation
import Kiln

// Every step can throw; the error is printed as one line (file:line: message), not a crash dump.
do {
    // 1. The model: a small CNN for 28×28 grey images, from layers. Params get readable names
    //    (conv1.weight, batchnorm1.running_mean, dense2.bias, …) when the layers first see data.
    let batch = 64
    let model = ModelBuilder("fashion_cnn")
    let images = model.input("images", .f32, [batch, 1, 28, 28])
    let labels = model.input("labels", .i32, [batch])
    let network = Sequential {
        Conv2D(8, kernel: 5, padding: 2, activation: .relu)
        BatchNorm()
        MaxPool2D(2)
        Conv2D(16, kernel: 5, activation: .relu)
        MaxPool2D(2)
        Flatten()
        Dense(120, activation: .relu)
        Dropout(0.3)
        Dense(10)
    }
    let logits = network(images, name: "logits")
    model.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
    model.output(logits, role: .logits)
    let graph = try model.build()  // throws the first mistake, at its line in this file

    // 2. What the compiler sees: the IR, its gradient, and the optimised training step.
    print(graph.text)
    let gradients = try Differentiation(loss: "loss").run(graph)
    print("gradient graph: \(gradients.nodes.count) nodes, outputs \(gradients.outputs.joined(separator: ", "))")
    let optimizer = try Optimizer.parse("adam:lr=0.002")
    var pipeline = PassManager([TrainingStep(loss: "loss", optimizer: optimizer), Simplify(), Fusion(), MemoryPlanner()])
    let step = try pipeline.run(graph)
    print("training step: \(step.nodes.count) kernels, \(step.nodes.filter { $0.op == .fused }.count) of them fused")

    // 3. Training on the JIT: a progress bar, one line per epoch, a checkpoint and a report.
    let quick = ProcessInfo.processInfo.environment["KILN_EXAMPLE_QUICK"] != nil
    let epochs = quick ? 1 : 3
    let train = try FashionMNIST.load(train: true, limit: quick ? 6_000 : nil)
    let test = try FashionMNIST.load(train: false)
    let trainer = try Trainer(graph: graph, optimizer: optimizer, backend: .jit)
    let history = try trainer.fit(train, epochs: epochs, validation: .fraction(0.1), test: test,
                                  schedule: .cosine(epochs: epochs, minimum: 0.1),
                                  earlyStopping: EarlyStopping(patience: 2),
                                  checkpoint: CheckpointPolicy(path: "fashion_cnn.safetensors"),
                                  report: "fashion_cnn_report")

    // 4. Evaluation: accuracy and per-class metrics on the test set (batch norm now uses its
    //    running statistics and dropout is off: the evaluation graph is compiled separately).
    let evaluation = try trainer.evaluate(test)
    let metrics = ClassificationMetrics(predictions: evaluation.predictions, labels: evaluation.labels, classes: 10)
    print(metrics.report(classNames: FashionMNIST.classNames))

    // 5. The interpreter, Kiln's reference backend, with the trained params: same predictions?
    let reference = try Trainer(graph: graph, optimizer: optimizer, backend: .interpreter)
    reference.state = trainer.state
    let checked = try reference.evaluate(test)
    let disagreements = zip(evaluation.predictions, checked.predictions).filter { $0 != $1 }.count
    print(String(format: "test accuracy: JIT %.4f, interpreter %.4f; %d of %d predictions differ",
                 evaluation.accuracy, checked.accuracy, disagreements, evaluation.predictions.count))
    print("best validation loss: \(history.epochs.compactMap(\.validationLoss).min() ?? .nan)")

    // 6. Keeping the model: graph, params, batch-norm statistics and class names in one
    //    safetensors file, which Examples/FashionClassifier's second program (FashionPredict) loads.
    try Model(trainer, classNames: FashionMNIST.classNames).save(to: "fashion_cnn.model.safetensors")
    let correct = zip(evaluation.predictions, evaluation.labels).filter { $0 == $1 }.count
    print("evaluation: \(correct) of \(evaluation.predictions.count) test images correct")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
