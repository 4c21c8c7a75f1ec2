// After a passkey is registered, go back to the security page so the new factor shows.
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.assign("/security/");
});
