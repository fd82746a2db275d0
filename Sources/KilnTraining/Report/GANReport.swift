import Foundation
import KilnData
import KilnRuntime

/// The report of an alternating GAN run (`GANTrainer`, `kiln train` on a graph with `d_loss`
/// and `g_loss`): both losses per epoch and a grid of generated samples after every epoch,
/// rewritten after each epoch like `ReportWriter`'s page (self-refreshing until the last).
public struct GANReport {
    public let graphName: String
    public let summary: String
    public let lastEpoch: Int
    public var refreshSeconds = 5
    public private(set) var losses: [(epoch: Int, discriminator: Double, generator: Double)] = []
    public private(set) var samples: [(epoch: Int, png: [UInt8])] = []
    /// The generator output drawn (the one declared `as sample`, else the trainer's `fake`).
    public let sampleOutput: String

    public init(graphName: String, summary: String, lastEpoch: Int, sampleOutput: String) {
        self.graphName = graphName
        self.summary = summary
        self.lastEpoch = lastEpoch
        self.sampleOutput = sampleOutput
    }

    /// Adds one epoch's mean losses and the generator's last batch of samples.
    public mutating func record(epoch: Int, discriminator: Double, generator: Double, fake: Tensor?) throws {
        losses.append((epoch, discriminator, generator))
        if let fake, let png = try GenerativeSection.grid(of: fake) { samples.append((epoch, png)) }
    }

    /// The page: a self-refreshing one while `finished` is false.
    public func page(finished: Bool) -> ReportPage {
        let done = losses.last?.epoch ?? 0
        var chart = LineChart(title: "GAN losses per epoch", xLabel: "epoch", yLabel: "mean loss",
                              series: [LineChart.Series("discriminator", points: losses.map { (Double($0.epoch), $0.discriminator) }),
                                       LineChart.Series("generator", points: losses.map { (Double($0.epoch), $0.generator) })])
        chart.integerX = true
        if let first = losses.first?.epoch, let last = losses.last?.epoch {
            chart.xRange = Double(first == last ? first - 1 : first)...Double(first == last ? last + 1 : last)
        }
        var sections: [ReportSection] = []
        if losses.isEmpty {
            sections.append(ReportSection(title: "Training curves", html: "<p class=\"note\">The first epoch has not finished yet.</p>"))
        } else {
            var curves = ReportSection(title: "Training curves", html: "<img src=\"loss.svg\" alt=\"GAN losses per epoch\">")
            curves.add("loss.svg", text: chart.svg)
            sections.append(curves)
        }
        if let section = GenerativeSection.samples(samples, output: sampleOutput) { sections.append(section) }
        let status = finished ? "finished after \(losses.count) epoch\(losses.count == 1 ? "" : "s")"
            : done == 0 ? "training: waiting for the first epoch of \(lastEpoch)" : "training: epoch \(done) of \(lastEpoch) done"
        return ReportPage(title: graphName, summary: summary, status: status, refreshSeconds: finished ? nil : refreshSeconds, sections: sections)
    }

    /// Writes the page and its pictures atomically, `index.html` last.
    public func write(to directory: String, finished: Bool) throws {
        try page(finished: finished).write(to: directory)
    }
}
