package bigquery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/beamsync/beamsync/change"
)

// maxAppendBytes bounds the rows of one AppendRows request (the API takes
// up to 10 MB).
const maxAppendBytes = 9 << 20

// cdcSchema is the Storage Write API schema of a view's rows in CDC mode:
// the view's columns, typed for the proto form the row encoder writes
// (BIGNUMERIC, TIME and JSON as strings, which the API accepts for those
// columns), and the pseudo-columns _CHANGE_TYPE and _CHANGE_SEQUENCE_NUMBER.
func cdcSchema(l *layout) *storagepb.TableSchema {
	s := &storagepb.TableSchema{Fields: protoFields(l.viewColumns())}
	for _, name := range []string{changeTypeColumn, changeSequenceColumn} {
		s.Fields = append(s.Fields, &storagepb.TableFieldSchema{Name: name, Type: storagepb.TableFieldSchema_STRING, Mode: storagepb.TableFieldSchema_NULLABLE})
	}
	return s
}

func protoFields(cols []column) []*storagepb.TableFieldSchema {
	out := make([]*storagepb.TableFieldSchema, len(cols))
	for i, c := range cols {
		f := &storagepb.TableFieldSchema{Name: c.Name, Mode: storagepb.TableFieldSchema_NULLABLE}
		if c.Repeated {
			f.Mode = storagepb.TableFieldSchema_REPEATED
		}
		switch c.Type {
		case typeInt64:
			f.Type = storagepb.TableFieldSchema_INT64
		case typeFloat64:
			f.Type = storagepb.TableFieldSchema_DOUBLE
		case typeBool:
			f.Type = storagepb.TableFieldSchema_BOOL
		case typeBytes:
			f.Type = storagepb.TableFieldSchema_BYTES
		case typeDate:
			f.Type = storagepb.TableFieldSchema_DATE // int32 days
		case typeTimestamp:
			f.Type = storagepb.TableFieldSchema_TIMESTAMP // int64 microseconds
		case typeStruct:
			f.Type = storagepb.TableFieldSchema_STRUCT
			f.Fields = protoFields(c.Fields)
		default: // STRING, JSON, TIME, NUMERIC, BIGNUMERIC
			f.Type = storagepb.TableFieldSchema_STRING
		}
		out[i] = f
	}
	return out
}

// cdcDescriptor returns the message descriptor of a view's CDC rows and
// its self-contained form for the stream.
func cdcDescriptor(l *layout) (protoreflect.MessageDescriptor, *descriptorpb.DescriptorProto, error) {
	d, err := adapt.StorageSchemaToProto2Descriptor(cdcSchema(l), "root")
	if err != nil {
		return nil, nil, fmt.Errorf("bigquery sink: view %s: building the Storage Write API schema: %w", l.View, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, nil, fmt.Errorf("bigquery sink: view %s: the Storage Write API schema is not a message", l.View)
	}
	dp, err := adapt.NormalizeDescriptor(md)
	if err != nil {
		return nil, nil, fmt.Errorf("bigquery sink: view %s: normalizing the Storage Write API schema: %w", l.View, err)
	}
	return md, dp, nil
}

// cdcRow converts a record to its serialized CDC row: the row encoder's
// proto JSON read into a message of the view's descriptor. A *rowError
// means the record cannot be written.
func cdcRow(enc *rowEncoder, md protoreflect.MessageDescriptor, r *change.Record, buf []byte) ([]byte, []byte, error) {
	line, err := enc.appendRow(buf[:0], r)
	if err != nil {
		return nil, buf, err
	}
	msg := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal(line, msg); err != nil {
		return nil, line, rejectf("the row does not fit the table: %v", err)
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		return nil, line, rejectf("encoding the row: %v", err)
	}
	return b, line, nil
}

// writeClient returns the client's Storage Write API client, made on first
// use. It lives as long as the client: Close closes it.
func (c *Client) writeClient() (*managedwriter.Client, error) {
	c.mwOnce.Do(func() {
		c.mw, c.mwErr = managedwriter.NewClient(context.Background(), c.project, c.opts...)
		if c.mwErr != nil {
			c.mwErr = fmt.Errorf("bigquery sink: creating the Storage Write API client: %w", c.mwErr)
		}
	})
	return c.mw, c.mwErr
}

// cdcState is what a Client keeps for CDC writers.
type cdcState struct {
	mwOnce sync.Once
	mw     *managedwriter.Client
	mwErr  error
}

// CDCWriter writes the records of one view straight into the view's table
// through the Storage Write API's default stream in CDC mode: an upsert is
// an UPSERT row, a delete a DELETE row with the key, and the row's
// _CHANGE_SEQUENCE_NUMBER is the record's position in hexadecimal, by which
// BigQuery applies the newest change of each key whatever the order of
// arrival. The table needs a primary key (Prepare makes it so). Real
// BigQuery only.
type CDCWriter struct {
	rejecter
	v   *View
	ms  *managedwriter.ManagedStream
	md  protoreflect.MessageDescriptor
	enc *rowEncoder

	rows    [][]byte
	refs    []rowRef
	lines   [][]byte // the rows' JSON, for dead letters
	bytes   int
	oldest  time.Time
	scratch []byte
	stats   Stats
}

// NewCDCWriter opens a writer of the view's records in Storage Write CDC
// mode (Config.StorageWriteCDC; Prepare must have run).
func (v *View) NewCDCWriter(ctx context.Context, opts ...WriterOption) (*CDCWriter, error) {
	mw, err := v.c.writeClient()
	if err != nil {
		return nil, err
	}
	md, dp, err := cdcDescriptor(v.l)
	if err != nil {
		return nil, err
	}
	t := v.tables.view
	// The stream lives on the context it is opened with: it must outlive
	// the bundle that opens it.
	ms, err := mw.NewManagedStream(context.WithoutCancel(ctx),
		managedwriter.WithType(managedwriter.DefaultStream),
		managedwriter.WithDestinationTable(managedwriter.TableParentFromParts(t.Project, t.Dataset, t.Table)),
		managedwriter.WithSchemaDescriptor(dp))
	if err != nil {
		return nil, fmt.Errorf("bigquery sink: view %s: opening the Storage Write API stream of %s: %w", v.l.View, t, err)
	}
	w := &CDCWriter{v: v, ms: ms, md: md, enc: newRowEncoder(v.l, forCDC, &v.inf)}
	w.rejecter = newRejecter(v.l.View, opts)
	return w, nil
}

// Stats returns what the writer did so far (Written and Deleted count the
// rows sent: BigQuery drops those older than the stored version itself).
func (w *CDCWriter) Stats() Stats {
	s := w.stats
	s.View, s.Sink = w.v.l.View, w.sink
	s.DeadLettered = w.n
	s.Retried = w.v.retried.Load()
	s.InfinityClamped, s.InfinityNulled = w.v.inf.clamped.Load(), w.v.inf.nulled.Load()
	return s
}

// Add buffers a record, and appends the buffer when it holds BatchRows
// rows or 9 MB, or its oldest row waited FlushInterval.
func (w *CDCWriter) Add(ctx context.Context, r change.Record) error {
	row, line, err := cdcRow(w.enc, w.md, &r, w.scratch)
	w.scratch = line
	if err != nil {
		w.reject(rowRef{key: r.Key, pos: r.Position, sourcePos: r.SourcePos}, docJSON(r.Doc), err.Error())
		return w.take()
	}
	w.rows = append(w.rows, row)
	w.refs = append(w.refs, rowRef{key: r.Key, pos: r.Position, sourcePos: r.SourcePos, delete: r.Delete})
	w.lines = append(w.lines, append([]byte(nil), line...))
	w.bytes += len(row)
	if len(w.rows) == 1 {
		w.oldest = time.Now()
	}
	if len(w.rows) >= w.v.cfg.BatchRows || w.bytes >= min(w.v.cfg.BatchBytes, maxAppendBytes) || time.Since(w.oldest) >= w.v.cfg.FlushInterval {
		return w.Flush(ctx)
	}
	return nil
}

// Flush appends the buffered rows and waits for BigQuery's answer. Rows
// BigQuery refuses (it then appends none of the request) are
// dead-lettered with its message and the others are appended again.
func (w *CDCWriter) Flush(ctx context.Context) error {
	for len(w.rows) > 0 {
		var resp *storagepb.AppendRowsResponse
		err := w.v.do(ctx, func(ctx context.Context) error {
			res, err := w.ms.AppendRows(ctx, w.rows)
			if err != nil {
				return err
			}
			resp, err = res.FullResponse(ctx)
			if len(resp.GetRowErrors()) > 0 {
				return nil
			}
			return err
		})
		w.stats.Batches++
		if rowErrs := resp.GetRowErrors(); len(rowErrs) > 0 {
			bad := map[int64]string{}
			for _, re := range rowErrs {
				bad[re.GetIndex()] = re.GetMessage()
			}
			before := len(w.rows)
			w.dropRows(bad)
			if len(w.rows) == before { // row errors naming no row sent
				return fmt.Errorf("bigquery sink: view %s: BigQuery refused rows %v of an append of %d", w.v.l.View, bad, before)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("bigquery sink: view %s: appending %d rows to %s: %w", w.v.l.View, len(w.rows), w.v.tables.view, err)
		}
		for _, r := range w.refs {
			if r.delete {
				w.stats.Deleted++
			} else {
				w.stats.Written++
			}
		}
		w.stats.Loaded += int64(len(w.rows))
		w.stats.Bytes += int64(w.bytes)
		w.rows, w.refs, w.lines, w.bytes = nil, nil, nil, 0
	}
	return w.take()
}

// dropRows dead-letters the buffered rows BigQuery refused.
func (w *CDCWriter) dropRows(bad map[int64]string) {
	var rows [][]byte
	var refs []rowRef
	var lines [][]byte
	w.bytes = 0
	for i, row := range w.rows {
		if msg, ok := bad[int64(i)]; ok {
			w.reject(w.refs[i], change.JSON(w.lines[i]), "BigQuery refused the row: "+msg)
			continue
		}
		rows, refs, lines = append(rows, row), append(refs, w.refs[i]), append(lines, w.lines[i])
		w.bytes += len(row)
	}
	w.rows, w.refs, w.lines = rows, refs, lines
}

// Close closes the writer's stream (what it buffers is not written).
func (w *CDCWriter) Close() error { return w.ms.Close() }

func (w *CDCWriter) discard() {
	_ = w.Close()
	w.rows, w.refs, w.lines, w.bytes = nil, nil, nil, 0
}
