package change

// AckToken names the unit of acknowledgement an element of a stream
// pipeline belongs to: the Progress of a change stream it was read in
// (Stream is the in-process number of the stream, Seq the Progress's
// sequence number). Elements of a batch pipeline carry the zero token. See
// package internal/ack for the rules every stage follows.
type AckToken struct {
	Stream uint32
	Seq    uint64
}

// IsZero reports whether the token belongs to no stream.
func (t AckToken) IsZero() bool { return t.Stream == 0 }
