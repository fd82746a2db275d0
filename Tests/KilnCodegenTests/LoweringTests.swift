import Testing
import KilnIR
@testable import KilnCodegen

@Suite struct LoweringTests {
    @Test func everyOpLowers() throws {
        #expect(OpKind.allCases.count > 40)
    }
}
