/// A change in a running live capture, for the caller to log (`PacketSource.run`'s `whenCaptureChanges`).
public enum LiveCaptureEvent: Sendable, Hashable {
    /// The capture failed (libpcap's words, e.g. "The interface disappeared"); with
    /// `LiveCaptureOptions.reopenDelays` the source tries to open the interface again.
    case lost(String)
    /// An attempt to open the interface again failed for another reason than the one before
    /// (`CaptureError.description`, e.g. "vs: interface is not up"); attempts go on.
    case reopenFailed(String)
    /// The interface was opened again, this many seconds after the loss.
    case resumed(afterSeconds: Double)
}
