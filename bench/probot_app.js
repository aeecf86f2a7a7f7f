// The peer: a minimal Probot app that verifies the signature (Probot's webhooks middleware)
// and answers issue_comment.created. Run from the folder where probot is installed:
// node probot_app.js PORT, with APP_ID, PRIVATE_KEY and WEBHOOK_SECRET set.
const http = require("http");
const { createNodeMiddleware, createProbot } = require("probot");

const probot = createProbot({
  overrides: {
    appId: process.env.APP_ID,
    privateKey: process.env.PRIVATE_KEY,
    secret: process.env.WEBHOOK_SECRET,
    logLevel: "warn",
  },
});

const app = (robot) => {
  robot.on("issue_comment.created", async () => {});
};

const middleware = createNodeMiddleware(app, { probot, webhooksPath: "/webhooks" });
http.createServer(middleware).listen(Number(process.argv[2]), "127.0.0.1");
