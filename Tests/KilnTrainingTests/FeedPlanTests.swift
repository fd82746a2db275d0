import KilnIR
import KilnTraining
import Testing

struct FeedPlanTests {
    let inputs = [Input(name: "x", type: TensorType(.f32, Shape([8, 1, 28, 28]))), Input(name: "labels", type: TensorType(.i32, Shape([8])))]

    func arrays(_ pairs: [(String, DType, [Int])]) -> [String: TensorType] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, TensorType($0.1, Shape($0.2))) })
    }

    @Test("by name first, then the one array of matching dtype and size (rows viewed with the input's shape)")
    func defaults() throws {
        let plan = try FeedPlan(inputs: inputs, arrays: arrays([("images", .f32, [784]), ("labels", .i32, [])]))
        #expect(plan.description == "x ← images, labels ← labels")
        let named = try FeedPlan(inputs: inputs, arrays: arrays([("x", .f32, [784]), ("other", .f32, [784]), ("labels", .i32, [])]))
        #expect(named.array(for: "x") == "x")
    }

    @Test("explicit mapping wins; mistakes name the input and the arrays")
    func explicit() throws {
        let choices = arrays([("a", .f32, [784]), ("b", .f32, [784]), ("y", .i32, [])])
        #expect(try FeedPlan(inputs: inputs, arrays: choices, explicit: ["x": "b"]).description == "x ← b, labels ← y")
        #expect(throws: Diagnostic("input 'x' f32[8, 1, 28, 28] has no data: no array is named 'x' and several fit (a, b); choose one with --feed x=NAME (arrays: a f32[N, 784], b f32[N, 784], y i32[N])")) {
            try FeedPlan(inputs: inputs, arrays: choices)
        }
        #expect(throws: Diagnostic("feed x=c: the data set has no array 'c' (arrays: a f32[N, 784], b f32[N, 784], y i32[N])")) {
            try FeedPlan(inputs: inputs, arrays: choices, explicit: ["x": "c"])
        }
        #expect(throws: Diagnostic("feed z=a: the graph has no input 'z' (inputs: x, labels)")) {
            try FeedPlan(inputs: inputs, arrays: choices, explicit: ["z": "a"])
        }
        #expect(throws: Diagnostic("input 'labels' i32[8] is fed array 'a' of dtype f32; the dtypes must agree")) {
            try FeedPlan(inputs: inputs, arrays: choices, explicit: ["labels": "a", "x": "b"])
        }
        // --feed x=labels: x's mismatch is the error, not 'labels' having lost its array.
        let named = arrays([("images", .f32, [784]), ("labels", .i32, [])])
        #expect(throws: Diagnostic("input 'x' f32[8, 1, 28, 28] is fed array 'labels' of dtype i32; the dtypes must agree")) {
            try FeedPlan(inputs: inputs, arrays: named, explicit: ["x": "labels"])
        }
        let two = arrays([("x", .f32, [784]), ("labels", .f32, [784])])
        #expect(throws: Diagnostic("input 'labels' i32[8] has no data: its array 'labels' feeds 'x' (--feed x=labels); give 'labels' another with --feed labels=NAME")) {
            try FeedPlan(inputs: inputs, arrays: two, explicit: ["x": "labels"])
        }
        #expect(throws: Diagnostic("input 'x' f32[8, 1, 28, 28] takes 784 values per example, array 'x' has 10 ([10])")) {
            try FeedPlan(inputs: inputs, arrays: arrays([("x", .f32, [10]), ("labels", .i32, [])]))
        }
    }
}
