/// Swift backtrace frames and threads as the report shows them.
enum CrashFrames {
    static func of(_ frames: [SwiftBacktrace.Frame]) -> [CrashFrame] {
        frames.map { frame in
            CrashFrame(function: frame.function, file: frame.file, line: frame.line, isRuntime: !SwiftFrameRoles.isOwn(frame),
                       image: frame.image, isInlined: frame.inlined)
        }
    }

    static func threads(_ backtrace: SwiftBacktrace?) -> [CrashThread] {
        (backtrace?.threads ?? []).map { thread in
            CrashThread(name: thread.name, crashed: thread.crashed, frames: of(thread.frames), omittedFrames: thread.omittedFrames)
        }
    }
}
