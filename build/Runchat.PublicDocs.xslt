<?xml version="1.0" encoding="utf-8"?>
<!--
  Used by Runchat.PublicDocs.targets: the documentation file as users get it.
  - The entries of Runchat.Internal are dropped.
  - The public and protected members that NSwag's own (unforked, 500-line) Client.Class.liquid
    generates without docs get theirs from here, only where the compiler wrote none. They are written
    in this file, not read from another: reading a second document needs XSLT's document(), which
    needs MSBuild's relaxed XSLT security (UseTrustedSettings) and its warning on every build.
    PublicApi/XmlDocsTests fails if a public member has no docs at all, so a member NSwag starts
    generating later is noticed.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:param name="prefix" />
  <xsl:output method="xml" encoding="utf-8" indent="no" />
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:template>
  <xsl:template match="members">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()" />
      <xsl:if test="not(member[@name = 'M:Runchat.RunchatClient.#ctor(Runchat.RunchatTransport)'])">
        <member name="M:Runchat.RunchatClient.#ctor(Runchat.RunchatTransport)">
      <summary>Creates a client over a transport the library built (the generated constructor; use <see cref="M:Runchat.RunchatClient.#ctor(Runchat.RunchatClientOptions)"/> or AddRunchatClient instead).</summary>
      <param name="httpClient">The library's transport: the pipeline with the key, the deadline, the retry policy and the redirect guard.</param>
    </member>
      </xsl:if>
      <xsl:if test="not(member[@name = 'P:Runchat.RunchatClient.JsonSerializerSettings'])">
        <member name="P:Runchat.RunchatClient.JsonSerializerSettings">
      <summary>The Newtonsoft.Json settings the generated operations read and write JSON with.</summary>
    </member>
      </xsl:if>
      <xsl:if test="not(member[@name = 'T:Runchat.RunchatClient.ObjectResponseResult`1'])">
        <member name="T:Runchat.RunchatClient.ObjectResponseResult`1">
      <summary>A deserialized response body, with its text when it was read as a string.</summary>
      <typeparam name="T">The type the spec documents for the status.</typeparam>
    </member>
      </xsl:if>
      <xsl:if test="not(member[@name = 'M:Runchat.RunchatClient.ObjectResponseResult`1.#ctor(`0,System.String)'])">
        <member name="M:Runchat.RunchatClient.ObjectResponseResult`1.#ctor(`0,System.String)">
      <summary>Creates the result.</summary>
      <param name="responseObject">The deserialized body.</param>
      <param name="responseText">The body text, or empty when it was streamed.</param>
    </member>
      </xsl:if>
      <xsl:if test="not(member[@name = 'P:Runchat.RunchatClient.ObjectResponseResult`1.Object'])">
        <member name="P:Runchat.RunchatClient.ObjectResponseResult`1.Object">
      <summary>The deserialized body.</summary>
    </member>
      </xsl:if>
      <xsl:if test="not(member[@name = 'P:Runchat.RunchatClient.ObjectResponseResult`1.Text'])">
        <member name="P:Runchat.RunchatClient.ObjectResponseResult`1.Text">
      <summary>The body text, or empty when it was streamed.</summary>
    </member>
      </xsl:if>
    </xsl:copy>
  </xsl:template>
  <!-- Dropped: "T:Runchat.Internal.X", "M:Runchat.Internal.X.Y(...)", ...: the id after its one-letter kind. (XSLT 1.0 allows no $prefix in a match.) -->
  <xsl:template match="member">
    <xsl:if test="not(substring(@name, 2, 1) = ':' and starts-with(substring(@name, 3), $prefix))"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:if>
  </xsl:template>
</xsl:stylesheet>
