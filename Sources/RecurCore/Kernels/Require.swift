/// Stops the program with `message` when `condition` is false — a programmer error such as a shape
/// mismatch. Unlike Swift's `precondition`, whose message is dropped in optimized builds, the message
/// is printed in release builds too, so the user sees which shapes disagreed.
@inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
