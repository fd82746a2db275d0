import KilnIR
import KilnNN
import Testing

/// Every DSL error points at the user's file and line — operators included.
struct ErrorLocationTests {
    static func error(_ m: ModelBuilder) -> Diagnostic? {
        do {
            _ = try m.build()
            return nil
        } catch {
            return error as? Diagnostic
        }
    }

    @Test("an operator's error points at the line that used it (found from a backtrace)")
    func operatorLine() throws {
        let m = ModelBuilder("op")
        let a = m.input("a", .f32, [2, 3]), b = m.input("b", .f32, [4])
        let line = #line + 1
        let c = a + b
        _ = c.relu()
        let d = try #require(Self.error(m))
        #expect(d.message == "add: cannot broadcast f32[2, 3] and f32[4]")
        #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0), "\(d)")
        #expect(d.location?.file == "KilnNNTests/ErrorLocationTests.swift")
    }

    @Test("operators with a Float operand and the prefix minus are located too")
    func scalarOperators() throws {
        let m = ModelBuilder("op2")
        let i = m.input("i", .i32, [2])
        let line = #line + 1
        _ = i * 2.0
        #expect(Self.error(m)?.location == SourceLocation(file: #fileID, line: line, column: 0))
    }

    @Test("without a backtrace, the error waits for the next DSL call and says so")
    func operatorFallback() throws {
        let m = ModelBuilder("fallback")
        m.locatesOperators = false
        let a = m.input("a", .f32, [2, 3]), b = m.input("b", .f32, [4])
        let c = a * b
        let line = #line + 1
        _ = c.sigmoid()
        let d = try #require(Self.error(m))
        #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0))
        #expect(d.message.hasPrefix("mul: cannot broadcast f32[2, 3] and f32[4]; operands made at KilnNNTests/ErrorLocationTests.swift:"))
        #expect(d.message.hasSuffix("(in an operator before this line: Swift operators cannot take #line)"))
        // With nothing after the operator, build() is the next call.
        let m2 = ModelBuilder("fallback2")
        m2.locatesOperators = false
        let x = m2.input("x", .f32, [2])
        _ = x / m2.input("y", .f32, [3])
        let buildLine = #line + 1
        #expect(throws: Diagnostic.self) { try m2.build() }
        #expect(m2.firstError?.location?.line == buildLine)
    }

    @Test("an error inside a layer points at the call and names the layer and where it was declared")
    func layerError() throws {
        let m = ModelBuilder("layer")
        let declared = #line + 1
        let dense = Dense(4, name: "encoder")
        let x = m.input("x", .f32, [2, 3])
        _ = dense(x)
        let line = #line + 1
        _ = dense(m.input("y", .f32, [2, 5]))          // the shared weight is [3, 4]
        let d = try #require(Self.error(m))
        #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0))
        #expect(d.message == "in encoder (declared at \(#fileID):\(declared)): Dense was built for 3 input features at its first call, got f32[2, 5]")
    }

    @Test("an error inside a Sequential points at the Sequential's call and names the layer")
    func sequentialError() throws {
        let m = ModelBuilder("seq")
        let declared = #line + 1
        let net = Sequential { Dense(4); Conv2D(2, kernel: 3) }
        let line = #line + 1
        _ = net(m.input("x", .f32, [2, 3]))
        let d = try #require(Self.error(m))
        #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0))
        #expect(d.message == "in conv (declared at \(#fileID):\(declared)): Conv2D (NCHW) expects f32 of rank 4, got f32[2, 4]")
    }

    @Test("a layer given the wrong kind of input says what it expects")
    func wrongInput() throws {
        let m = ModelBuilder("wrong")
        let line = #line + 1
        _ = Embedding(vocabulary: 3, dimension: 2)(m.input("x", .f32, [4]))
        let d = try #require(Self.error(m))
        #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0))
        #expect(d.message.hasSuffix("Embedding expects i32 indices, got f32[4]"), "\(d.message)")
    }
}
