import XCTest

/// max |a - b| / max |ref|: the normalised error the reference READMEs use (the absolute error when
/// the reference is all zeros, so a zero reference is not divided by).
public func relativeError(_ a: [Float], _ ref: [Float]) -> Double {
    var diff = 0.0, peak = 0.0
    for (x, y) in zip(a, ref) { diff = max(diff, Double(abs(x - y))); peak = max(peak, Double(abs(y))) }
    return peak > 0 ? diff / peak : diff
}

/// Fails when the counts differ or the relative error exceeds `tolerance`; returns the error so callers can report it.
@discardableResult
public func assertClose(_ a: [Float], _ ref: [Float], tolerance: Double, _ label: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) -> Double {
    XCTAssertEqual(a.count, ref.count, "\(label()): value count", file: file, line: line)
    let e = relativeError(a, ref)
    XCTAssertLessThanOrEqual(e, tolerance, "\(label()): relative error \(e)", file: file, line: line)
    return e
}
