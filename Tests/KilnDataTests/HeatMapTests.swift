import KilnData
import Testing

struct HeatMapTests {
    @Test("the confusion heat map has a cell per pair with its count, class names on both axes, escaped")
    func heatMap() {
        let map = ConfusionHeatMap(confusion: [[5, 1, 0], [2, 3, 0], [0, 0, 4]], classNames: ["T-shirt/top", "Bag & co", "Coat"])
        let svg = map.svg
        #expect(svg.components(separatedBy: "<rect x=").count - 1 == 9)
        #expect(svg.contains("Bag &amp; co") && !svg.contains("Bag & co"))
        #expect(svg.components(separatedBy: "T-shirt/top</text>").count - 1 == 2, "rows and columns are labelled")
        #expect(svg.contains("true T-shirt/top, predicted Bag &amp; co: 1"))
        #expect(svg.contains(">predicted</text>") && svg.contains(">true</text>"))
    }

    @Test("colours follow the row share: a full diagonal cell is darkest, an empty one white")
    func colours() {
        let svg = ConfusionHeatMap(confusion: [[4, 0], [0, 0]], classNames: ["a", "b"]).svg
        #expect(svg.contains("fill=\"#08519c\""))
        #expect(svg.contains("fill=\"#ffffff\""))
    }
}
