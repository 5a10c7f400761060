extension Optional where Wrapped == Instant {
    /// The earlier of two optional deadlines, `nil` when neither is set: the min over stored optionals that
    /// `nextDeadline` computations chain (`a.earliest(b).earliest(c)`) without building an array.
    @inlinable
    public func earliest(_ other: Instant?) -> Instant? {
        guard let self else { return other }
        guard let other else { return self }
        return other < self ? other : self
    }
}
