import KilnIR
import Testing

/// Yes/no questions about ops answered by sets declared on the op table (`IndexMap`,
/// `ClassIndexUse`, `ContractionOp`) agree with the rest of the table for every op.
struct OpTableSetsTests {
    @Test("the index maps are exactly the ops whose fusion role is indexMap", arguments: OpKind.allCases)
    func indexMaps(_ op: OpKind) {
        #expect((op.fusionRole == .indexMap) == (op.indexMap != nil), "\(op.name)")
        #expect(op.indexMap.map { $0.rawValue == op.name } ?? true)
    }

    @Test("every index map names an op")
    func indexMapsNameOps() {
        for map in IndexMap.allCases { #expect(OpKind(name: map.rawValue)?.indexMap == map, "\(map)") }
    }

    @Test("the contractions are exactly the ops of category contraction, each named by its op", arguments: OpKind.allCases)
    func contractions(_ op: OpKind) {
        #expect((op.category == .contraction) == (op.contraction != nil), "\(op.name)")
        #expect(op.contraction.map { $0.rawValue == op.name } ?? true)
    }

    @Test("a class-index use points at an operand and a bound the op has", arguments: OpKind.allCases)
    func classIndexUses(_ op: OpKind) {
        guard let use = op.classIndexUse else { return }
        guard case .exactly(let count) = op.arity else {
            Issue.record("\(op.name): class indices in a variadic op")
            return
        }
        #expect(use.indices < count, "\(op.name)")
        switch use.bound {
        case .lastDimension(let k), .firstDimension(let k): #expect(k < count && k != use.indices, "\(op.name)")
        case .attribute(let name): #expect(op.attributes.contains { $0.name == name && $0.kind == .int }, "\(op.name): \(name)")
        }
    }
}
