/// Median, minimum and maximum of one client's successful runs, as the anchors' `stats` prints them.
public struct BenchSummary: Equatable, Sendable {
    public var median: Double
    public var minimum: Double
    public var maximum: Double
    public var count: Int

    /// nil for no values. The median of an even count is the mean of the two middle values.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
        count = sorted.count
    }
}
