import Foundation
import Kiln

// A second program that reuses the model FashionClassifier trained and saved: no graph code,
// no Trainer, no labels to predict. Errors are printed as one line.
do {
    // 1. Load the model and predict every test image (batched internally; batch norm uses its
    //    running statistics and dropout is off: the inference graph is derived on loading).
    let path = "fashion_cnn.model.safetensors"
    let model = try Model(contentsOf: path)
    print(try model.summary().text)  // layers, output shapes, params, FLOPs, planned memory
    let test = try FashionMNIST.load(train: false)
    let probabilities = try model.predict(test)  // [10000, 10], rows sum to 1
    let predicted = try model.classify(test)
    let labels = test["labels"]?.ints ?? []
    let correct = zip(predicted, labels).filter { $0 == $1 }.count
    print("loaded model: \(correct) of \(predicted.count) test images correct")
    print("first image: \(model.classNames[Int(predicted[0])]), p = \(probabilities.floats[Int(predicted[0])])")

    // 2. The same inference graph as ONNX, with its weights, for onnxruntime and other tools;
    //    some images and Kiln's probabilities for them, to compare.
    try model.exportONNX(to: "fashion_cnn.onnx")
    let sample = try test.subset(Array(0..<256))
    if let images = try model.feeds(sample)[model.inputs[0].name] {
        try NumPyFormat.write(images, to: "sample_images.npy")
        try NumPyFormat.write(try model.predict(sample), to: "sample_probabilities.npy")
    }

    // 3. Fine-tuning: a new trainer on the saved graph starts from the saved params and
    //    batch-norm statistics (loadParameters), with the convolutions and batch norm frozen.
    //    Before any step it scores exactly what the saved model scores.
    let frozen = try ParamSelection.select("conv*,batchnorm*", in: model.graph)
    let tuner = try Trainer(graph: model.graph, optimizer: try Optimizer.parse("adam:lr=0.0005"), frozen: frozen)
    let transfer = try tuner.loadParameters(from: path)
    print("fine-tuning: \(transfer.loaded.count) tensors loaded, \(frozen.count) params and \(tuner.frozenStatistics.count) statistics frozen")
    let before = try tuner.evaluate(test)
    print(String(format: "accuracy before fine-tuning %.4f (the saved model: %.4f)", before.accuracy, Double(correct) / Double(predicted.count)))
    let quick = ProcessInfo.processInfo.environment["KILN_EXAMPLE_QUICK"] != nil
    let more = try FashionMNIST.load(train: true, limit: quick ? 2_000 : 20_000)
    try tuner.fit(more, epochs: 1, validation: .none, progress: .silent)
    print(String(format: "accuracy after fine-tuning %.4f", try tuner.evaluate(test).accuracy))
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
