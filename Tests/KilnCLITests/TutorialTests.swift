import Foundation
import Testing

/// Docs/DSL.md's program is the example package's main.swift, verbatim; `make consumer`
/// builds and runs that package against a tagged copy of the repository.
struct TutorialTests {
    @Test("the tutorial's listing is Examples/FashionClassifier's main.swift")
    func listingIsTheExample() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("Docs/DSL.md"), encoding: .utf8)
        let main = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/FashionClassifier/Sources/FashionClassifier/main.swift"), encoding: .utf8)
        #expect(doc.contains("```swift\n" + main + "```\n"), "Docs/DSL.md and main.swift differ: copy main.swift into the tutorial")
    }
}

/// Docs/DSL.md's section 7 shows the example package's second program verbatim.
struct PredictTutorialTests {
    @Test("the tutorial's second listing is Examples/FashionClassifier's FashionPredict main.swift")
    func listingIsTheExample() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("Docs/DSL.md"), encoding: .utf8)
        let main = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/FashionClassifier/Sources/FashionPredict/main.swift"), encoding: .utf8)
        #expect(doc.contains("```swift\n" + main + "```\n"), "Docs/DSL.md and FashionPredict/main.swift differ: copy main.swift into the tutorial")
    }
}
