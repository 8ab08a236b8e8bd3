// $mails for tests/sdk/hooks_mails.test.mjs: a superuser route that sends
// one of the auth mails to a record of `users` (also used by
// tests/sdk/hooks_mailer.test.mjs).
routerAdd("POST", "/mails/{kind}", (e) => {
  const b = e.requestInfo().body
  const record = $app.findRecordById("users", b.id)
  switch (e.request.pathValue("kind")) {
    case "reset":
      $mails.sendRecordPasswordReset($app, record)
      break
    case "verify":
      $mails.sendRecordVerification($app, record)
      break
    case "change":
      $mails.sendRecordChangeEmail($app, record, b.newEmail)
      break
    case "otp":
      $mails.sendRecordOTP($app, record, b.otpId, b.pass)
      break
    case "alert":
      $mails.sendRecordAuthAlert($app, record, b.info)
      break
    default:
      throw new BadRequestError("unknown mail")
  }
  return e.json(200, { sent: true })
}, $apis.requireSuperuserAuth())
