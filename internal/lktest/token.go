package lktest

import (
	"time"

	"github.com/livekit/protocol/auth"
)

// TokenValidity is how long a Token is valid.
const TokenValidity = 24 * time.Hour

// Token returns an access token, signed with the API key and secret, that lets identity
// join room under the display name name and subscribe to everything in it; with publish
// it may also publish tracks and data, as a speaker does, without it only listen.
func Token(key, secret, room, identity, name string, publish bool) (string, error) {
	grant := &auth.VideoGrant{RoomJoin: true, Room: room}
	grant.SetCanSubscribe(true)
	grant.SetCanPublish(publish)
	grant.SetCanPublishData(publish)
	return auth.NewAccessToken(key, secret).
		SetVideoGrant(grant).
		SetIdentity(identity).
		SetName(name).
		SetValidFor(TokenValidity).
		ToJWT()
}
