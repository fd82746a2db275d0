import Foundation
import Kiln

// Placeholder while the DSL layers land; Docs/DSL.md replaces it.
let model = ModelBuilder("mlp")
let x = model.input("x", .f32, [64, 784])
let labels = model.input("labels", .i32, [64])
let hidden = Dense(model, inputs: 784, outputs: 128, weight: "w1", bias: "b1", activation: .relu)
let out = Dense(model, inputs: 128, outputs: 10, weight: "w2", bias: "b2")
let logits = out(hidden(x)).named("logits")
model.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
model.output(logits, role: .logits)
let graph = try model.build()
print(graph.text)
let quick = ProcessInfo.processInfo.environment["KILN_EXAMPLE_QUICK"] != nil
let train = try FashionMNIST.load(train: true, limit: quick ? 6_000 : nil)
let test = try FashionMNIST.load(train: false)
let trainer = try Trainer(graph: graph, optimizer: try Optimizer.parse("adam:lr=0.001"), backend: .jit)
let history = try trainer.fit(train, epochs: quick ? 1 : 3, test: test)
print("test accuracy", history.last?.testAccuracy ?? .nan)
