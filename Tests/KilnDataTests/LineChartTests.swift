import KilnData
import Testing

struct LineChartTests {
    @Test("epoch charts have labelled axes, one tick per epoch, a legend and the restored epoch marked")
    func epochChart() {
        var chart = LineChart(title: "loss per epoch", xLabel: "epoch", yLabel: "mean loss",
                              series: [LineChart.Series("train", perEpoch: [1.5, 0.9, 0.7, 0.6]),
                                       LineChart.Series("validation <held out>", perEpoch: [1.4, 1.0, 0.8, .nan])])
        chart.integerX = true
        chart.marker = (x: 3, label: "best: epoch 3 (restored)")
        let svg = chart.svg
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains(">epoch</text>") && svg.contains("mean loss</text>"))
        for epoch in 1...4 { #expect(svg.contains(">\(epoch)</text>"), "tick \(epoch)") }
        #expect(svg.contains("validation &lt;held out&gt;"), "legend text is escaped")
        #expect(svg.contains("best: epoch 3 (restored)"))
        #expect(!svg.contains("nan"), "non-finite points are skipped")
    }

    @Test("integer ticks stay whole numbers over many epochs; round ticks otherwise")
    func ticks() {
        let many = LineChart.Series("x", perEpoch: (1...37).map(Double.init))
        var chart = LineChart(title: "t", xLabel: "epoch", yLabel: "y", series: [many])
        chart.integerX = true
        let svg = chart.svg
        #expect(svg.contains(">10</text>") && svg.contains(">20</text>") && svg.contains(">30</text>"))
        #expect(!svg.contains(">2.5</text>"))
    }

    @Test("a constant series (a learning rate without schedule) gets an axis around its magnitude")
    func constant() {
        let svg = LineChart(title: "learning rate", xLabel: "epoch", yLabel: "learning rate",
                            series: [LineChart.Series("lr", perEpoch: [0.001, 0.001])]).svg
        #expect(svg.contains(">0.001</text>"))
        #expect(!svg.contains(">-0.4</text>"))
    }
}
