// Package record writes a recording of a room to a directory that every standard tool
// opens: the room mixed (audio.ogg), each speaker's frames as received in the file
// format of their codec (tracks/<speaker>.ogg for Opus, .aac raw ADTS for AAC, .mp3 for
// MP3: the track writers of tracks.go), the transcript as WebVTT and JSON lines, the
// room's events as JSON lines, and room.json.
//
// It owns the recording's timeline. Time 0 is Open (the join). Audio frames are placed
// on the room clock, their timestamps anchored at the wall-clock offset of the first
// frame; where a speaker is silent or audio is missing, frames of silence in the track's
// codec are inserted so that every file stays aligned with the others and with the
// transcript cues. A frame already in its track (a seam between segments, a resume) or
// behind what the track holds is dropped, never written out of order. A Gap, or a
// timestamp discontinuity (a new stream epoch, or a clock that would put the timeline
// more than a second ahead of wall time), re-anchors the room clock to wall time; every
// gap is logged in events.jsonl. No track runs more than a second ahead of wall time
// either: a speaker id that carries more than one stream loses the excess rather than
// stretch its file. Repeated events are coalesced and each JSON lines file has a budget
// of bytes a minute (lineLog), so the logs grow at a bounded rate whatever the room
// sends.
//
// A Recorder writes on a goroutine of its own, so that Event and WriteMixed never wait
// for the disk. Every 100 ms of wall time (flushEvery) that goroutine writes the pending
// Ogg pages; ADTS and MP3 frames are written as they come, each whole. So a recording
// cut off by a crash plays to within half a second of the crash. A failed write stops
// the recording, leaving every file valid up to its last whole page, frame or line.
//
// record sees only transport's event types and the pure Go parts of audio, so it builds
// without cgo.
package record

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/jsonl"
)

const (
	sampleRate = audio.SampleRate
	frame      = audio.FrameSamples
	queueLen   = 8192                   // items: over 20 s of a busy room
	flushEvery = 100 * time.Millisecond // wall time between page flushes
	mixedSlack = sampleRate / 5         // the mixed audio may lag wall time by 200 ms before silence fills it
	// trackSlack is how far a silent speaker's track may lag wall time while the
	// connection is live before silence fills it, so that a kill -9 leaves every track
	// within half a second (slack + flushEvery) of the end. It is larger than mixedSlack
	// because a frame that arrives later than this behind the room clock is written
	// late rather than at its place.
	trackSlack = sampleRate * 3 / 10
	// replayGrace is how long after a reconnect silent tracks wait before following wall
	// time again, so the frames a resume replays land in place first.
	replayGrace = time.Second
	jumpLimit   = 2 * sampleRate // a timestamp jump back beyond this is a discontinuity
	// maxAhead is how far the timeline may run ahead of wall time since the join: the
	// room clock as much as any track. A timestamp past it is a discontinuity, and a
	// track that would pass it (a speaker id carrying more than one stream) drops the
	// frame rather than stretch the recording.
	maxAhead  = sampleRate
	maxTracks = 256 // speakers beyond this are not recorded
	// cueHold is how long after its end a final cue is held back, so that the start of
	// its speaker's next segment can still clip its end; maxHeldCues bounds them.
	cueHold          = 3 * sampleRate
	maxHeldCues      = 64
	recentSeqs       = 64              // frames remembered per track to drop duplicates
	whyDiscontinuity = "discontinuity" // the why of a gap the Recorder finds itself
	whyDisconnected  = "disconnected"  // the why of an outage still going on at Close
)

// Options configures a Recorder.
type Options struct {
	// Dir is the recording directory. A Dir that exists and is not empty is never
	// written into: the first free sibling Dir-2, Dir-3, ... is used instead, unless
	// Force is set.
	Dir   string
	Force bool
	// Title, RoomURL and ClientVersion go into room.json and the OpusTags. A RoomURL's
	// user info and query, where tokens live, are left out.
	Title, RoomURL, ClientVersion string
	// Now is the clock; nil means time.Now. Time 0 of the recording is Open.
	Now func() time.Time
	// Logger gets one line when the recording stops on an error, and notices of gaps
	// and dropped input; nil discards them.
	Logger *slog.Logger
	// Mixed says WriteMixed will be called; when false, audio.ogg is not created.
	Mixed bool
	// Create creates or truncates the named file for writing; nil means os.OpenFile with
	// O_WRONLY|O_CREATE|O_TRUNC and mode 0644. The file must exist under its name once
	// Create returns: room.json is replaced by renaming. Tests use it to inject faults.
	Create func(name string) (File, error)
}

// Stats is a Recorder's progress.
type Stats struct {
	// Dir is the recording directory in use: Options.Dir or a sibling of it.
	Dir string
	// Bytes counts what was written to the audio, transcript and event files.
	Bytes int64
	// Seconds is the length of the recorded timeline so far.
	Seconds float64
	// Speakers counts the speakers heard, each with a track.
	Speakers int
	// Err is the error that stopped the recording, if one did.
	Err error
}

// Recorder writes one recording directory. Its methods are safe for concurrent use.
type Recorder struct {
	dir    string
	start  time.Time
	now    func() time.Time
	log    *slog.Logger
	create func(string) (File, error)
	meta   roomMeta

	queue chan item
	quit  chan struct{}
	done  chan struct{}

	closing   atomic.Bool
	failed    atomic.Bool
	closeOnce sync.Once
	closeAt   time.Time
	closeErr  error

	bytes    atomic.Int64
	samples  atomic.Int64
	speakers atomic.Int64
	errMu    sync.Mutex
	err      error

	overMu sync.Mutex
	over   overrun

	// Owned by the run goroutine.
	clock      roomClock
	mixed      *audioFile
	tracks     map[trackKey]*track
	files      map[string]bool // track file names taken
	roster     map[string]transport.Speaker
	lastRoster []byte
	metaAt     time.Time // when room.json was last rewritten
	metaDirty  bool      // room.json has changes not rewritten yet
	lastRoom   []byte
	events     *lineLog
	transcript *lineLog
	vtt        *sink
	cues       []heldCue // final cues not yet written, in order of start time
	lastCue    int64     // the start of the last cue written
	end        int64     // the furthest position written, in samples
	finalized  bool
	warnedMax  bool
	skipped    map[transport.Codec]bool // codecs without a track writer, reported once
	live       bool                     // the connection is live (the last State said so)
	liveAt     time.Time                // when live last changed
}

// item is one call to Event or WriteMixed, stamped with its wall time, or a barrier.
type item struct {
	at      time.Time
	ev      transport.Event
	mixed   []byte
	barrier chan struct{}
}

// overrun records input dropped because the queue was full: the disk is stalled.
type overrun struct {
	n        int
	from, to time.Time
}

// Open creates the recording directory (Options.Dir or a sibling), tracks/ and the
// files, writes room.json and starts the Recorder. Time 0 of the recording is now.
func Open(opts Options) (*Recorder, error) {
	r := &Recorder{
		now:     opts.Now,
		log:     opts.Logger,
		create:  opts.Create,
		queue:   make(chan item, queueLen),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		tracks:  map[trackKey]*track{},
		files:   map[string]bool{},
		roster:  map[string]transport.Speaker{},
		skipped: map[transport.Codec]bool{},
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.create == nil {
		r.create = createFile
	}
	dir, err := chooseDir(opts.Dir, opts.Force)
	if err != nil {
		return nil, err
	}
	r.dir = dir
	r.start = r.now()
	r.meta = roomMeta{
		Title:         transport.Sanitize(opts.Title, transport.MaxNameRunes),
		URL:           redactURL(opts.RoomURL),
		ClientVersion: transport.Sanitize(opts.ClientVersion, transport.MaxNameRunes),
		Started:       r.start.UTC().Format(time.RFC3339Nano),
	}
	if err := r.openFiles(opts.Mixed); err != nil {
		r.closeFiles()
		return nil, err
	}
	go r.run()
	return r, nil
}

func (r *Recorder) openFiles(mixed bool) error {
	if err := os.MkdirAll(filepath.Join(r.dir, "tracks"), 0o755); err != nil {
		return fmt.Errorf("create recording directory: %w", err)
	}
	s, err := r.openSink("events.jsonl")
	if err != nil {
		return err
	}
	r.events = newLineLog(s, eventsBudget)
	if s, err = r.openSink("transcript.jsonl"); err != nil {
		return err
	}
	r.transcript = newLineLog(s, transcriptBudget)
	if r.vtt, err = r.openSink("transcript.vtt"); err != nil {
		return err
	}
	if _, err := r.vtt.Write([]byte(vttHeader)); err != nil {
		return err
	}
	if mixed {
		if r.mixed, err = r.openAudio("audio.ogg", newOggFrames, r.tags("")); err != nil {
			return err
		}
	}
	return r.writeRoomJSON(r.start)
}

func (r *Recorder) openSink(name string) (*sink, error) {
	f, err := r.create(filepath.Join(r.dir, name))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return &sink{f: f, name: name, total: &r.bytes}, nil
}

// openAudio creates an audio file written by the frameWriter open returns.
func (r *Recorder) openAudio(name string, open func(*sink, []string) (frameWriter, error), tags []string) (*audioFile, error) {
	s, err := r.openSink(name)
	if err != nil {
		return nil, err
	}
	w, err := open(s, tags)
	if err != nil {
		_ = s.close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &audioFile{s: s, w: w}, nil
}

// tags are the OpusTags comments of a file: the room's title, the speaker and the date.
func (r *Recorder) tags(speaker string) []string {
	var c []string
	if r.meta.Title != "" {
		c = append(c, "TITLE="+r.meta.Title)
	}
	if speaker != "" {
		c = append(c, "ARTIST="+speaker)
	}
	return append(c, "DATE="+r.start.UTC().Format(time.RFC3339))
}

// Dir returns the recording directory in use.
func (r *Recorder) Dir() string { return r.dir }

// Event records a room event. It is called on the session's network goroutine, in
// order; it never waits for the disk. After Close or a failed write it does nothing.
func (r *Recorder) Event(ev transport.Event) {
	r.enqueue(item{ev: ev})
}

// WriteMixed records one Opus packet of the room mixed, as played. Calls come in order
// from one goroutine. A packet that is not valid Opus is recorded as 20 ms of silence.
// After Close or a failed write it does nothing.
func (r *Recorder) WriteMixed(pkt []byte) {
	if len(pkt) > 0 {
		r.enqueue(item{mixed: append([]byte(nil), pkt...)})
	}
}

func (r *Recorder) enqueue(it item) {
	if r.closing.Load() || r.failed.Load() {
		return
	}
	it.at = r.now()
	select {
	case r.queue <- it:
	default:
		// The disk has stalled for many seconds. Dropping keeps playback going; the
		// timeline fills the hole with silence and the run goroutine logs it as a gap.
		r.overMu.Lock()
		if r.over.n == 0 {
			r.over.from = it.at
		}
		r.over.n++
		r.over.to = it.at
		r.overMu.Unlock()
	}
}

// Stats returns the recording's progress.
func (r *Recorder) Stats() Stats {
	r.errMu.Lock()
	err := r.err
	r.errMu.Unlock()
	return Stats{
		Dir:      r.dir,
		Bytes:    r.bytes.Load(),
		Seconds:  float64(r.samples.Load()) / sampleRate,
		Speakers: int(r.speakers.Load()),
		Err:      err,
	}
}

// Close records everything queued, pads every track with silence to the same end (the
// later of now and the furthest audio written), writes the end-of-stream pages and the
// final `record` event, and syncs and closes the files. It returns the error that
// stopped the recording, if one did, else the first error finalizing. Closing twice is
// a no-op that returns the same error.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		r.closeAt = r.now()
		r.closing.Store(true)
		close(r.quit)
		<-r.done
		r.closeErr = r.Stats().Err
	})
	return r.closeErr
}

// run owns the files: it records the queued items in order and flushes pages on a tick.
func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case it := <-r.queue:
			r.handle(it)
		case <-tick.C:
			// Read the clock before draining, so that every item stamped before this
			// time is recorded before the mixed track is filled up to it.
			now := r.now()
			r.drain()
			r.tick(now)
		case <-r.quit:
			r.drain()
			if !r.failed.Load() {
				r.finish(r.closeAt, nil)
			}
			return
		}
	}
}

func (r *Recorder) drain() {
	for {
		select {
		case it := <-r.queue:
			r.handle(it)
		default:
			return
		}
	}
}

func (r *Recorder) handle(it item) {
	if it.barrier != nil {
		close(it.barrier)
		return
	}
	if r.failed.Load() {
		return
	}
	if err := r.record(it); err != nil {
		r.fail(err)
	}
}

func (r *Recorder) record(it item) error {
	if err := r.logOverrun(); err != nil {
		return err
	}
	wall := r.wall(it.at)
	if err := r.fillMixed(wall); err != nil {
		return err
	}
	if it.mixed != nil {
		return r.writeMixed(it.mixed)
	}
	switch e := it.ev.(type) {
	case transport.AudioFrame:
		return r.frame(e, it.at, wall)
	case transport.TranscriptSegment:
		return r.segment(e, it.at, wall)
	case transport.Roster:
		for _, s := range e.Speakers {
			r.roster[s.ID] = s
		}
		return r.writeEventIfChanged(it.at, e, &r.lastRoster)
	case transport.RoomInfo:
		if err := r.writeEventIfChanged(it.at, e, &r.lastRoom); err != nil {
			return err
		}
		return r.roomInfo(it.at, e)
	case transport.Gap:
		// A fresh join restarts the room's timestamps: the clock resumes wherever the
		// next frame lands in wall time. Any other gap (a resume past the replay
		// window) keeps the room clock, and the frames that follow land in place.
		if e.Why == transport.WhyNotResumed {
			r.clock.ok = false
		}
		return r.writeGap(it.at, e.From, e.To, e.Why)
	case transport.State:
		// Silent tracks follow wall time only while live: during an outage a resume may
		// still deliver the missed frames, which belong at their own places.
		if live := e.State == transport.StateLive; live != r.live {
			r.live, r.liveAt = live, it.at
		}
		_, err := r.events.event(it.at, "", "state", jsonlFields(e))
		return err
	}
	return nil
}

func (r *Recorder) tick(now time.Time) {
	if r.failed.Load() || r.finalized {
		return
	}
	err := r.logOverrun()
	if err == nil {
		err = r.fillMixed(r.wall(now))
	}
	if err == nil {
		err = r.writeCues(r.wall(now), false)
	}
	for _, l := range []*lineLog{r.events, r.transcript} {
		if err == nil {
			err = l.flush(now, false)
		}
	}
	if err == nil && r.metaDirty {
		err = r.saveRoomJSON(now)
	}
	if r.live && now.Sub(r.liveAt) >= replayGrace {
		for _, t := range r.tracks {
			if err == nil {
				err = r.fill(t.file, r.wall(now)-trackSlack)
			}
		}
	}
	for _, o := range r.audioFiles() {
		if err != nil {
			break
		}
		err = o.w.flush()
	}
	if err != nil {
		r.fail(err)
	}
}

// wall converts a wall time to a position on the recording, in samples since Open.
func (r *Recorder) wall(t time.Time) int64 {
	return max(t.Sub(r.start).Nanoseconds(), 0) * 3 / 62500 // 48000 / 1e9
}

func (r *Recorder) timeAt(pos int64) time.Time {
	return r.start.Add(time.Duration(pos * 62500 / 3))
}

// audioFiles returns every audio file, mixed first, tracks in file name order.
func (r *Recorder) audioFiles() []*audioFile {
	var all []*audioFile
	if r.mixed != nil {
		all = append(all, r.mixed)
	}
	tracks := slices.SortedFunc(maps.Values(r.tracks), func(a, b *track) int { return cmp.Compare(a.path, b.path) })
	for _, t := range tracks {
		all = append(all, t.file)
	}
	return all
}

// fillMixed keeps the mixed track within mixedSlack of wall time: while WriteMixed is
// not called (an outage, a stalled device) silence takes its place.
func (r *Recorder) fillMixed(wall int64) error {
	if r.mixed == nil {
		return nil
	}
	return r.fill(r.mixed, wall-mixedSlack)
}

func (r *Recorder) writeMixed(pkt []byte) error {
	if r.mixed == nil {
		return nil // Options.Mixed was false: there is no audio.ogg
	}
	if err := r.write(r.mixed, pkt); err != nil {
		return fmt.Errorf("record audio.ogg: %w", err)
	}
	return nil
}

// frame places one speaker's frame on the room clock and writes it to the speaker's
// track in its codec after whatever silence it takes to get there. A frame already
// written (the same number and timestamp, as a resume can deliver at its seam), or one
// that lies behind what the track already holds, is not written again.
func (r *Recorder) frame(f transport.AudioFrame, at time.Time, wall int64) error {
	key := trackKey{f.Speaker, f.Codec}
	t := r.tracks[key]
	if t != nil && t.seen(f.Seq, f.Timestamp) {
		return nil
	}
	if t == nil {
		format, ok := formatOf(f.Codec)
		if !ok {
			if !r.skipped[f.Codec] {
				r.skipped[f.Codec] = true
				r.log.Warn("not recording a track: no writer for its codec yet", "dir", r.dir, "codec", f.Codec, "speaker", f.Speaker)
			}
			return nil
		}
		if len(r.tracks) >= maxTracks {
			if !r.warnedMax {
				r.warnedMax = true
				r.log.Warn("too many speakers: not recording more tracks", "dir", r.dir, "max", maxTracks)
			}
			return nil
		}
		var err error
		if t, err = r.newTrack(at, key, format); err != nil {
			return err
		}
	}
	last := r.clock
	pos, jumped := r.clock.place(f.Timestamp, wall)
	if jumped {
		if err := r.writeGap(at, r.timeAt(last.wall), at, whyDiscontinuity); err != nil {
			return err
		}
	}
	t.remember(f.Seq, f.Timestamp)
	if sw, ok := t.file.w.(setupWriter); ok {
		sw.setSetup(f.Setup)
	}
	l, err := t.file.w.length(f.Payload)
	if err != nil {
		// Recorded as silence (write), which keeps the timeline; before any frame could
		// be read there is no format to be silent in.
		if l = t.file.w.silenceLen(); l.samples == 0 {
			return nil
		}
	}
	n := l.at48()
	if t.epoch == r.clock.epoch && pos < t.heard-n/2 {
		// A frame of what the track already holds: the same audio under another number
		// (a seam between segments), or one overtaken by later frames. Writing it now
		// would put it out of order.
		r.drop(t, dropBehind)
		return nil
	}
	if err := r.fill(t.file, pos); err != nil {
		return fmt.Errorf("record %s: %w", t.path, err)
	}
	if t.file.next+n > wall+maxAhead {
		// More audio than time: one id carries several streams, or a stream comes
		// faster than real time. Writing it would stretch the track.
		r.drop(t, dropFast)
		return nil
	}
	if err := r.write(t.file, f.Payload); err != nil {
		return fmt.Errorf("record %s: %w", t.path, err)
	}
	t.epoch, t.heard = r.clock.epoch, pos+n
	return nil
}

// Why frames are dropped from a track, and the log line the first of each gets.
const (
	dropBehind = iota
	dropFast
)

var dropWhy = [...]string{
	dropBehind: "a speaker's frame lies behind what the track holds (reordered, or sent again): dropping it",
	dropFast:   "a speaker's audio comes faster than real time: dropping the excess",
}

// drop counts a frame left out of t in room.json, and logs the first of each kind.
func (r *Recorder) drop(t *track, why int) {
	r.meta.Tracks[t.meta].Dropped++
	r.metaDirty = true
	if !t.warned[why] {
		t.warned[why] = true
		r.log.Warn(dropWhy[why], "dir", r.dir, "speaker", t.id, "file", t.path)
	}
}

func (r *Recorder) newTrack(at time.Time, key trackKey, format trackFormat) (*track, error) {
	sp, ok := r.roster[key.speaker]
	name := sp.Name
	if !ok || name == "" {
		name = key.speaker
	}
	path := "tracks/" + trackFile(filepath.Join(r.dir, "tracks"), name, key.speaker, format.ext, r.files)
	o, err := r.openAudio(path, format.open, r.tags(name))
	if err != nil {
		return nil, err
	}
	t := &track{id: key.speaker, name: name, path: path, file: o, meta: len(r.meta.Tracks)}
	if !slices.ContainsFunc(r.meta.Tracks, func(m trackMeta) bool { return m.ID == key.speaker }) {
		r.speakers.Add(1) // a speaker's first track; a change of codec opens another
	}
	r.tracks[key] = t
	r.meta.Tracks = append(r.meta.Tracks, trackMeta{ID: t.id, Name: name, File: path, Codec: key.codec})
	return t, r.saveRoomJSON(at)
}

// fill inserts silence into o up to pos, to the nearest frame.
func (r *Recorder) fill(o *audioFile, pos int64) error {
	for l := o.w.silenceLen(); l.samples > 0 && pos-o.next >= l.at48()/2; l = o.w.silenceLen() {
		if err := r.writeSilence(o); err != nil {
			return err
		}
	}
	return nil
}

// write adds one frame to o; a frame whose duration cannot be read becomes silence,
// which keeps the timeline.
func (r *Recorder) write(o *audioFile, p []byte) error {
	l, err := o.w.length(p)
	if err != nil {
		return r.writeSilence(o)
	}
	if err := o.w.write(p); err != nil {
		return err
	}
	r.advance(o, l)
	return nil
}

// writeSilence adds one frame of silence to o, if it knows its format.
func (r *Recorder) writeSilence(o *audioFile) error {
	l := o.w.silenceLen()
	if l.samples == 0 {
		return nil
	}
	if err := o.w.writeSilence(); err != nil {
		return err
	}
	r.advance(o, l)
	return nil
}

// advance moves o along the timeline by a frame of length l.
func (r *Recorder) advance(o *audioFile, l frameLen) {
	o.rem += int64(l.samples) * sampleRate
	o.next += o.rem / int64(l.rate)
	o.rem %= int64(l.rate)
	if o.next > r.end {
		r.end = o.next
		r.samples.Store(r.end)
	}
}

// segment writes a transcript segment to transcript.jsonl and, when final, a cue to
// transcript.vtt, both placed on the recording's timeline and clipped to the join.
func (r *Recorder) segment(s transport.TranscriptSegment, at time.Time, wall int64) error {
	length := max(durationSamples(s.End-s.Start), 0)
	start, ok := r.clock.at(uint32(durationSamples(s.Start)))
	if !ok || start > wall+jumpLimit {
		// No audio yet, or a caption off the audio's clock: a segment arrives about
		// when its speech ends.
		start = wall - length
	}
	end := max(start+length, 0)
	start = max(start, 0)
	_, f := jsonl.EventFields(s)
	f["rec_start"] = float64(start) / sampleRate
	f["rec_end"] = float64(end) / sampleRate
	if sp, ok := r.roster[s.Speaker]; ok {
		f["name"] = sp.Name
	}
	if _, err := r.transcript.event(at, s.ID, "transcript", f); err != nil {
		return err
	}
	// The speaker's next segment has begun: the cues before it end there at the latest.
	for i := range r.cues {
		if c := &r.cues[i]; c.speaker == s.Speaker && c.id != s.ID && c.start <= start {
			c.end, c.closed = min(c.end, start), true
		}
	}
	if s.Final && end > 0 { // a cue that ended before the join is not in the recording
		voice, _ := f["name"].(string)
		if voice == "" {
			voice = s.Speaker
		}
		r.holdCue(heldCue{id: s.ID, speaker: s.Speaker, voice: voice, text: s.Text, start: start, end: end, chat: s.Chat})
	}
	return r.writeCues(wall, false)
}

// heldCue is a final segment's cue, held back until its end can no longer be clipped
// by the start of its speaker's next segment.
type heldCue struct {
	id, speaker, voice, text string
	start, end               int64
	closed                   bool // the speaker's next segment has begun: end is final
	chat                     bool // typed into the room's chat
}

// holdCue queues c among the held cues, in order of start time.
func (r *Recorder) holdCue(c heldCue) {
	// WebVTT wants cues in order of start time; overlapping speakers can break it.
	c.start = max(c.start, r.lastCue)
	i, _ := slices.BinarySearchFunc(r.cues, c.start, func(h heldCue, start int64) int { return cmp.Compare(h.start, start+1) })
	r.cues = slices.Insert(r.cues, i, c)
}

// writeCues writes the held cues, in order, for as long as the first can be written:
// its end is final, or cueHold has passed since it, or there are too many held; all
// of them when all is set (the end of the recording).
func (r *Recorder) writeCues(wall int64, all bool) error {
	for len(r.cues) > 0 {
		c := r.cues[0]
		if !all && !c.closed && wall < c.end+cueHold && len(r.cues) <= maxHeldCues {
			return nil
		}
		r.cues = slices.Delete(r.cues, 0, 1)
		r.lastCue = c.start
		if _, err := r.vtt.Write(vttCue(c.id, c.start, max(c.end, c.start+sampleRate/1000), c.voice, c.text, c.chat)); err != nil {
			return err
		}
	}
	return nil
}

func durationSamples(d time.Duration) int64 {
	return d.Nanoseconds() * 3 / 62500
}

func (r *Recorder) roomInfo(at time.Time, e transport.RoomInfo) error {
	m := r.meta
	m.Room = &roomInfoMeta{ID: e.ID, Title: e.Title, Listeners: e.Listeners}
	if !e.Started.IsZero() {
		m.Room.Started = e.Started.UTC().Format(time.RFC3339)
	}
	if m.Title == "" {
		m.Title = m.Room.Title
	}
	// The listener count changes all the time; room.json is rewritten for the rest.
	changed := r.meta.Room == nil || m.Room.ID != r.meta.Room.ID || m.Room.Title != r.meta.Room.Title || m.Room.Started != r.meta.Room.Started
	r.meta = m
	if !changed {
		return nil
	}
	return r.saveRoomJSON(at)
}

// jsonlFields are the fields of ev's JSON line.
func jsonlFields(ev transport.Event) jsonl.Fields {
	_, f := jsonl.EventFields(ev)
	return f
}

// writeGap logs a gap in events.jsonl, and in the log when it is not coalesced.
func (r *Recorder) writeGap(at, from, to time.Time, why string) error {
	wrote, err := r.events.gap(at, from, to, why)
	if wrote {
		r.log.Info("recording gap", "dir", r.dir, "seconds", to.Sub(from).Seconds(), "why", why)
	}
	return err
}

// writeEventIfChanged writes ev unless its fields equal the last ones written.
func (r *Recorder) writeEventIfChanged(at time.Time, ev transport.Event, last *[]byte) error {
	typ, f := jsonl.EventFields(ev)
	key, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	if string(key) == string(*last) {
		return nil
	}
	*last = key
	_, err = r.events.event(at, "", typ, f)
	return err
}

// writeLine writes one JSON line whole, with one Write.
func (r *Recorder) writeLine(s *sink, typ string, at time.Time, f jsonl.Fields) error {
	b, err := jsonl.Line(typ, at, f)
	if err != nil {
		return err
	}
	_, err = s.Write(b)
	return err
}

// logOverrun logs, as a gap, input dropped because the queue was full.
func (r *Recorder) logOverrun() error {
	r.overMu.Lock()
	o := r.over
	r.over = overrun{}
	r.overMu.Unlock()
	if o.n == 0 {
		return nil
	}
	r.log.Warn("recording fell behind: input dropped", "dir", r.dir, "items", o.n)
	_, err := r.events.gap(o.to, o.from, o.to, "recorder_overrun")
	return err
}

// fail stops the recording on its first error: one log line, the error in Stats, and
// every file closed as it stands, each ending on its last whole page or line.
func (r *Recorder) fail(err error) {
	r.errMu.Lock()
	r.err = fmt.Errorf("recording stopped: %w", err)
	r.errMu.Unlock()
	r.failed.Store(true)
	r.log.Error("recording stopped", "dir", r.dir, "err", err)
	r.finish(r.now(), err)
}

// finish finalizes the recording. On Close (cause nil) every track is padded to the
// same end and the record event is written; after a failure the files are closed as
// they are, each write attempted once more at most.
func (r *Recorder) finish(at time.Time, cause error) {
	if r.finalized {
		return
	}
	r.finalized = true
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	end := max(r.wall(at), r.end)
	if cause == nil && !r.live && !r.liveAt.IsZero() {
		// The recording ends during an outage: that silence is a gap too.
		keep(r.writeGap(at, r.liveAt, at, whyDisconnected))
	}
	for _, o := range r.audioFiles() {
		if cause == nil {
			keep(r.fill(o, end))
		}
		keep(o.w.close())
	}
	if cause == nil {
		keep(r.writeCues(end, true))
		keep(r.events.flush(at, true))
		keep(r.transcript.flush(at, true))
		r.meta.Ended = at.UTC().Format(time.RFC3339Nano)
		r.meta.Seconds = float64(r.end) / sampleRate
		keep(r.writeRoomJSON(at))
		keep(r.writeLine(r.events.s, "record", at, jsonl.Fields{"path": r.dir, "bytes": r.bytes.Load(), "seconds": r.meta.Seconds}))
	}
	keep(r.closeFiles())
	for _, d := range []string{filepath.Join(r.dir, "tracks"), r.dir} {
		keep(syncDir(d))
	}
	if cause == nil && first != nil {
		r.errMu.Lock()
		r.err = fmt.Errorf("finalize recording: %w", first)
		r.errMu.Unlock()
		r.log.Error("recording not finalized", "dir", r.dir, "err", first)
	}
}

// closeFiles syncs and closes every file that is open.
func (r *Recorder) closeFiles() error {
	var first error
	sinks := []*sink{r.vtt}
	for _, l := range []*lineLog{r.events, r.transcript} {
		if l != nil {
			sinks = append(sinks, l.s)
		}
	}
	for _, o := range r.audioFiles() {
		sinks = append(sinks, o.s)
	}
	for _, s := range sinks {
		if s == nil {
			continue
		}
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncDir makes the directory's entries durable, so the files survive a power cut.
func syncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, os.ErrInvalid) {
		return nil // some platforms cannot sync a directory
	}
	return err
}

// sync waits until every item queued before it is recorded. Tests use it.
func (r *Recorder) sync() {
	b := make(chan struct{})
	r.queue <- item{barrier: b}
	<-b
}

// trackKey names a track: a speaker's frames in one codec. A speaker whose codec
// changes (a stream whose source restarts with another encoder) gets a second track.
type trackKey struct {
	speaker string
	codec   transport.Codec
}

// track is one speaker's file in one codec.
type track struct {
	id, name, path string
	file           *audioFile
	meta           int                // its index in room.json's tracks
	warned         [len(dropWhy)]bool // it dropped frames of each kind, and said so
	// epoch and heard are the room clock's epoch and the position in it of the end of
	// the last frame written: a frame that starts well before it is not written.
	epoch  int
	heard  int64
	recent [recentSeqs]struct {
		seq, ts uint32
		ok      bool
	}
}

// seen reports a frame already recorded: the same sequence number and timestamp. Both
// must match, so that a new stream epoch that restarts the numbering is not mistaken
// for duplicates.
func (t *track) seen(seq, ts uint32) bool {
	s := t.recent[seq%recentSeqs]
	return s.ok && s.seq == seq && s.ts == ts
}

func (t *track) remember(seq, ts uint32) {
	s := &t.recent[seq%recentSeqs]
	s.seq, s.ts, s.ok = seq, ts, true
}

// roomClock maps the room's 32-bit timestamps to positions on the recording. It holds
// the latest timestamp seen, its position and the wall position it arrived at. Each
// anchoring starts a new epoch: positions of different epochs are different streams,
// which say nothing of each other's order.
type roomClock struct {
	ok    bool
	ts    uint32
	pos   int64
	wall  int64
	epoch int // from 1 at the first anchoring
}

// place returns the position of a frame with timestamp ts that arrived at wall. The
// first frame, and a frame whose timestamp jumps back by more than jumpLimit or lands
// more than maxAhead past wall (a new stream epoch, or a clock faster than real time),
// anchor the clock at wall; jumped reports the latter.
func (c *roomClock) place(ts uint32, wall int64) (pos int64, jumped bool) {
	if c.ok {
		d := int64(int32(ts - c.ts)) // signed difference: timestamps wrap
		if pos = c.pos + d; d >= -jumpLimit && pos <= wall+maxAhead {
			if d > 0 {
				c.ts, c.pos, c.wall = ts, pos, wall
			}
			return pos, false
		}
		jumped = true
	}
	*c = roomClock{ok: true, ts: ts, pos: wall, wall: wall, epoch: c.epoch + 1}
	return wall, jumped
}

// at returns the position of ts, if the clock is anchored.
func (c *roomClock) at(ts uint32) (int64, bool) {
	return c.pos + int64(int32(ts-c.ts)), c.ok
}

// roomMeta is room.json.
type roomMeta struct {
	Title         string        `json:"title,omitempty"`
	URL           string        `json:"url,omitempty"`
	ClientVersion string        `json:"client_version,omitempty"`
	Started       string        `json:"started"`
	Ended         string        `json:"ended,omitempty"`
	Seconds       float64       `json:"seconds,omitempty"`
	Room          *roomInfoMeta `json:"room,omitempty"`
	Tracks        []trackMeta   `json:"tracks"`
}

type roomInfoMeta struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Started   string `json:"started,omitempty"`
	Listeners int    `json:"listeners"`
}

type trackMeta struct {
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	File  string          `json:"file"`
	Codec transport.Codec `json:"codec"`
	// Dropped counts the frames received and not written: behind what the track held,
	// or more audio than time (Recorder.drop).
	Dropped int `json:"dropped,omitempty"`
}

// saveRoomJSON rewrites room.json at once unless it was rewritten less than
// coalesceEvery ago; then it leaves the rewrite to a tick, so that a room changing its
// title or speakers all the time costs at most one rewrite a second.
func (r *Recorder) saveRoomJSON(now time.Time) error {
	if now.Sub(r.metaAt) < coalesceEvery {
		r.metaDirty = true
		return nil
	}
	return r.writeRoomJSON(now)
}

// writeRoomJSON replaces room.json: written to a temporary file, synced, renamed, so a
// crash leaves the old version or the new one.
func (r *Recorder) writeRoomJSON(now time.Time) error {
	r.metaAt, r.metaDirty = now, false
	m := r.meta
	if m.Tracks == nil {
		m.Tracks = []trackMeta{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode room.json: %w", err)
	}
	name := filepath.Join(r.dir, "room.json")
	f, err := r.create(name + ".tmp")
	if err != nil {
		return fmt.Errorf("create room.json: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name+".tmp", name)
	}
	if err != nil {
		_ = os.Remove(name + ".tmp")
		return fmt.Errorf("write room.json: %w", err)
	}
	return nil
}

// redactURL drops a URL's credentials (transport.RedactURL) and makes it safe to print.
func redactURL(s string) string {
	return transport.Sanitize(transport.RedactURL(s), transport.MaxTextRunes)
}
