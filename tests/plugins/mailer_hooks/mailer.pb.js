// Mailer hooks for tests/sdk/hooks_mailer.test.mjs. Each record hook writes
// what it saw into the subject (the SMTP sink shows it); an address starting
// with "quiet" is not mailed (the handler does not call e.next()); "boom"
// makes the handler throw.
onMailerRecordPasswordResetSend((e) => {
  if (e.record.email().startsWith("quiet")) return
  if (e.record.email().startsWith("boom")) throw new BadRequestError("no reset mails")
  e.message.subject = "reset:" + e.record.collection().name + ":" + (e.meta.token ? "token" : "none")
  e.next()
}, "users")

onMailerRecordVerificationSend((e) => {
  e.message.subject = "verify:" + e.message.to[0].address + ":" + (e.meta.token ? "token" : "none")
  e.message.html = e.message.html + "<p>added by the hook</p>"
  e.next()
})

onMailerRecordEmailChangeSend((e) => {
  e.message.subject = "change:" + e.meta.newEmail
  e.next()
})

onMailerRecordOTPSend((e) => {
  e.message.subject = "otp:" + e.meta.otpId + ":" + e.meta.password
  e.next()
})

onMailerRecordAuthAlertSend((e) => {
  e.message.subject = "alert:" + Object.keys(e.meta || {}).sort().join(",")
  e.next()
})

// Every mail: the sender as the hook saw it, and a copy to an audit address.
onMailerSend((e) => {
  e.message.subject = e.message.subject + " from:" + e.message.from.address
  e.message.to = [...e.message.to, { address: "audit@example.com", name: "Audit" }]
  e.next()
})

// Mails without a record, through the app's mail client.
routerAdd("POST", "/mailer/send", (e) => {
  const b = e.requestInfo().body
  const message = new MailerMessage({
    from: { address: b.from, name: "Custom" },
    to: [{ address: b.to }],
    subject: b.subject,
    html: "<p>custom</p>",
  })
  $app.newMailClient().send(message)
  return e.json(200, { sent: true })
}, $apis.requireSuperuserAuth())
